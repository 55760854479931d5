"""The prompt parser on labelled phrasings: tasks right, geometry right, and the misses.

    .venv/bin/python -m benchmarks.bench_prompt --out docs/results/prompt-parser.json

Sets: ``../shared/data/prompts/prompts-dev.jsonl`` (the shared development phrasings) and
``tests/data/prompts-own.jsonl`` (ours). A phrasing's tasks are right when the parsed set of tasks
(or ``auto``) equals the label; its geometry when scale, size, width and height all equal it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from benchmarks.common import ROOT, save_results

SETS = {
    "shared-dev": ROOT.parent / "shared" / "data" / "prompts" / "prompts-dev.jsonl",
    "own": ROOT / "tests" / "data" / "prompts-own.jsonl",
}


def score(path: Path) -> dict:
    from clearzoom import parse_prompt

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    tasks = geometry = 0
    misses = []
    for row in rows:
        got = parse_prompt(row["prompt"]).to_dict()
        want = row["tasks"]
        t_ok = got["auto"] if want == "auto" else (not got["auto"] and sorted(got["tasks"]) == sorted(want))
        g_ok = all(got[k] == row.get(k) for k in ("scale", "size", "width", "height"))
        tasks, geometry = tasks + t_ok, geometry + g_ok
        if not (t_ok and g_ok):
            misses.append({"prompt": row["prompt"], "got": got})
    return {"phrasings": len(rows), "tasks_right": tasks, "geometry_right": geometry, "misses": misses}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    rows = [{"set": name, **score(path)} for name, path in SETS.items() if path.is_file()]
    save_results(args.out, rows)


if __name__ == "__main__":
    main()

"""What every benchmark script shares: the results document and where it goes."""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def save_results(out: str | None, rows: list[dict], **meta) -> None:
    """``{"meta": machine + date + command + meta, "rows": rows}`` to ``out`` (atomically), or
    to stdout when ``out`` is None."""
    from clearzoom.atomic import write_atomic
    from clearzoom.eval.speed import machine_info

    doc = {
        "meta": {
            **machine_info(),
            **meta,
            "date": datetime.date.today().isoformat(),
            "command": " ".join([f"python -m benchmarks.{Path(sys.argv[0]).stem}", *sys.argv[1:]]),
        },
        "rows": rows,
    }
    text = json.dumps(doc, indent=1)
    if out:
        write_atomic(out, text + "\n")
    else:
        print(text)

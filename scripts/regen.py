"""Regenerate every generated file of the repository, or check that none is stale.

    python -m scripts.regen                    # all cheap targets (a few minutes; chromium for one)
    python -m scripts.regen --only card,readme # some of them
    python -m scripts.regen --bench            # also rerun the quality benchmarks first (~1 h)
    python -m scripts.regen --check            # exit 1 if a generated file no longer matches

Targets, in the order they run (later ones read what earlier ones write):

==========  =================================================  ==================================
target      writes                                             from
==========  =================================================  ==================================
bench       docs/results/bench-*/ (behind ``--bench``)         benchmarks/quality-*.yaml, weights
card        docs/models.md                                     bench outputs, weights, training logs
curves      docs/results/training/*/curves.png                 their log.jsonl
results     benchmarks/RESULTS.md                              benchmarks/results/*.json
explain     docs/explain/osprey-small.{md,html,json}           the default model on the example
figure      docs/images/example.png                            the default model on the example
screenshot  docs/images/web.png (needs chromium)               the web app on the example
readme      README.md's generated blocks                       bench outputs, the explain report
==========  =================================================  ==================================

``--check`` re-renders the text targets (card, results, readme) and compares them with the files,
checks that the explain report is the one the README quotes, and checks each benchmark folder
against what its numbers depend on: the weights and precision of each model (recorded by the
runner in ``methods.json``: a mismatch fails) and the protocol's code (recorded here in
``provenance.json``: a mismatch is reported, since refactoring it need not change a number).
Generated Markdown and HTML files start with a comment naming their command; generated PNGs carry
it in a text chunk.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .readme_blocks import GENERATED

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXPLAIN = ROOT / "docs" / "explain" / "osprey-small"
#: the code that decides a quality benchmark's numbers (besides the weights)
PROTOCOL_FILES = ("eval/protocol.py", "eval/metrics.py", "data/resize.py", "data/degrade.py")


@dataclass(frozen=True)
class Target:
    name: str
    make: Callable[[], list[Path]]
    expensive: bool = False


def _write(path: Path, text: str) -> list[Path]:
    from clearzoom.atomic import write_atomic

    write_atomic(path, text)
    return [path]


# ------------------------------------------------------------------------- text targets
def render_card() -> dict[Path, str]:
    from .card import render_card as card

    return {ROOT / "docs" / "models.md": card()}


def render_results() -> dict[Path, str]:
    from benchmarks.report import render

    return {ROOT / "benchmarks" / "RESULTS.md": render()}


def render_readme() -> dict[Path, str]:
    from .card import readme_models_table
    from .explain_excerpt import readme_explain_excerpt

    text = readme_models_table(README.read_text())
    text = readme_explain_excerpt(text, (EXPLAIN.with_suffix(".md")).read_text())
    return {README: text}


def _from_render(render: Callable[[], dict[Path, str]]) -> Callable[[], list[Path]]:
    return lambda: [p for path, text in render().items() for p in _write(path, text)]


# ------------------------------------------------------------------------- model-run targets
def make_explain() -> list[Path]:
    """The explain report of the README's example, as the README's command makes it."""
    from clearzoom.explain import explain, write_report

    result = explain(ROOT / "examples" / "osprey-small.jpg", scale=4, threads=2)
    written = [write_report(result, EXPLAIN.with_suffix(ext)) for ext in (".md", ".html", ".json")]
    md, html = EXPLAIN.with_suffix(".md"), EXPLAIN.with_suffix(".html")
    _write(md, GENERATED.format(target="explain") + "\n\n" + md.read_text())
    doctype, rest = html.read_text().split("\n", 1)
    _write(html, doctype + "\n" + GENERATED.format(target="explain") + "\n" + rest)
    return written


def make_figure() -> list[Path]:
    from .pictures import readme_figure

    return [readme_figure()]


def make_curves() -> list[Path]:
    from .pictures import curves

    return curves()


def make_screenshot() -> list[Path]:
    from .pictures import web_screenshot

    return [web_screenshot()]


# ------------------------------------------------------------------------- benchmarks
def bench_configs() -> list[Path]:
    return sorted((ROOT / "benchmarks").glob("quality-*.yaml"))


def protocol_fingerprint() -> str:
    src = ROOT / "src" / "clearzoom"
    digest = hashlib.sha256()
    for rel in PROTOCOL_FILES:
        digest.update((src / rel).read_bytes())
    return "sha256:" + digest.hexdigest()[:16]


def make_bench() -> list[Path]:
    """Run (resume) every quality benchmark; a model whose weights changed is measured again."""
    from clearzoom.eval.bench_config import config_from_yaml
    from clearzoom.eval.runner import run_quality, write_figures

    written = []
    for path in bench_configs():
        cfg = config_from_yaml(path)
        print(f"bench: {path.relative_to(ROOT)} -> {cfg.out_dir.resolve().relative_to(ROOT)}", flush=True)
        write_figures(cfg, run_quality(cfg))
        record = {
            "config": path.relative_to(ROOT).as_posix(),
            "protocol": protocol_fingerprint(),
            "date": datetime.date.today().isoformat(),
            "command": f"clearzoom bench quality --config {path.relative_to(ROOT).as_posix()}",
        }
        written += _write(cfg.out_dir / "provenance.json", json.dumps(record, indent=1) + "\n")
    return written


def check_bench() -> tuple[list[str], list[str]]:
    """(stale, notes): benchmark folders whose weights changed; those whose protocol code did."""
    from clearzoom.eval.bench_config import config_from_yaml
    from clearzoom.eval.runner import method_fingerprint

    stale, notes = [], []
    for path in bench_configs():
        cfg = config_from_yaml(path)
        where = cfg.out_dir.resolve().relative_to(ROOT)
        recorded = cfg.out_dir / "methods.json"
        if not (cfg.out_dir / "results.json").exists():
            stale.append(f"{where}: not measured (python -m scripts.regen --bench)")
            continue
        if not recorded.exists():  # measured before the runner recorded weights: trusted, as it does
            notes.append(f"{where}: measured before methods.json existed; its weights are not recorded")
            continue
        measured = json.loads(recorded.read_text())
        for m in cfg.methods:
            if measured.get(m) != method_fingerprint(m, cfg.precision, cfg.base):
                stale.append(f"{where}: {m} was measured with other weights or precision")
        prov = cfg.out_dir / "provenance.json"
        protocol = json.loads(prov.read_text()).get("protocol") if prov.exists() else None
        if protocol != protocol_fingerprint():
            notes.append(
                f"{where}: the protocol's code changed since it was measured "
                "(rerun with --bench if that changes numbers)"
            )
    return stale, notes


TARGETS = [
    Target("bench", make_bench, expensive=True),
    Target("card", _from_render(render_card)),
    Target("curves", make_curves),
    Target("results", _from_render(render_results)),
    Target("explain", make_explain),
    Target("figure", make_figure),
    Target("screenshot", make_screenshot),
    Target("readme", _from_render(render_readme)),
]
TEXT_RENDERS = {"card": render_card, "results": render_results, "readme": render_readme}


def stale_files(read: Callable[[Path], str] = lambda p: p.read_text()) -> list[str]:
    """The generated text files that differ from what their inputs give now (``read`` reads the
    committed file; tests pass an edited one)."""
    stale = []
    for render in TEXT_RENDERS.values():
        for path, text in render().items():
            if read(path) != text:
                stale.append(f"{path.relative_to(ROOT)}: differs from what its inputs give")
    for path in (EXPLAIN.with_suffix(".md"), EXPLAIN.with_suffix(".html")):
        if GENERATED.format(target="explain") not in read(path):
            stale.append(f"{path.relative_to(ROOT)}: not written by python -m scripts.regen")
    return stale


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.regen", description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated targets: " + ", ".join(t.name for t in TARGETS))
    ap.add_argument("--bench", action="store_true", help="also rerun the quality benchmarks (~1 h)")
    ap.add_argument("--check", action="store_true", help="check only; exit 1 if anything is stale")
    args = ap.parse_args(argv)
    if args.check:
        stale = stale_files()
        bench_stale, notes = check_bench()
        for line in notes:
            print(f"note: {line}")
        for line in stale + bench_stale:
            print(f"stale: {line}")
        return 1 if stale or bench_stale else 0
    names = [t.name for t in TARGETS]
    wanted = args.only.split(",") if args.only else [t.name for t in TARGETS if not t.expensive or args.bench]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)} (known: {', '.join(names)})")
    for t in TARGETS:
        if t.name in wanted:
            for path in t.make():
                print(f"{t.name}: wrote {path.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The regeneration tool (scripts/): the model card's target checks, the README's generated
blocks, and the check that fails when a generated file no longer matches its inputs."""

import json
from pathlib import Path

import pytest
from conftest import ROOT

from scripts import card, explain_excerpt, regen
from scripts.readme_blocks import with_block


@pytest.fixture(scope="module")
def mc():
    return card


def _rows(jpeg: dict, twin: dict, bicubic: dict) -> list[dict]:
    rows = []
    for method, cells in (("m", jpeg), ("t", twin), ("bicubic", bicubic)):
        for (ds, deg, scale), v in cells.items():
            rows.append({"method": method, "dataset": ds, "degradation": deg, "scale": scale, "psnr_y": v})
    return rows


BIC = {
    ("Set5", "clean", 4): 28.42,
    ("Set14", "clean", 4): 26.00,
    ("Set5", "jpeg:30", 4): 25.94,
    ("Set5", "clean", 2): 33.68,
    ("Set14", "clean", 2): 30.24,
}


def test_targets_pass_at_their_thresholds_and_fail_just_below(mc):
    twin = {("Set5", "jpeg:30", 4): 26.0, ("Set5", "clean", 2): 37.0, ("Set14", "clean", 2): 33.0}
    good = {
        ("Set5", "clean", 4): 31.13,
        ("Set14", "clean", 4): 27.91,
        ("Set5", "jpeg:30", 4): 27.15,
        ("Set5", "clean", 2): 36.71,
        ("Set14", "clean", 2): 32.71,
    }
    res = mc.jpeg_targets(_rows(good, twin, BIC), model="m", twin="t")
    assert len(res) == 6 and all(ok for _, _, ok in res), res
    bad = {**good, ("Set5", "clean", 2): 36.69, ("Set5", "jpeg:30", 4): 26.79}
    res = dict((label, ok) for label, _, ok in mc.jpeg_targets(_rows(bad, twin, BIC), model="m", twin="t"))
    assert not res["Set5 x2, clean LR: no more than 0.3 dB below the clean twin"]
    assert not res["Set5 x4, JPEG q30 LR: >= +0.8 dB over the clean twin"]
    assert not res["Set5 x4, JPEG q30 LR: >= +1.2 dB over bicubic"]  # 26.79 - 25.94 = 0.85
    assert res["Set5 x4, clean LR: >= +2.7 dB over bicubic and >= 31.12 dB"]


def test_a_missing_measurement_is_not_met(mc):
    res = mc.jpeg_targets(_rows({("Set5", "clean", 4): 40.0}, {}, BIC), model="m", twin="t")
    assert res[0][2] and not any(ok for _, _, ok in res[1:])
    assert {v for _, v, _ in res[1:]} == {"not measured"}


def test_a_shipped_models_card_comes_from_its_bench_results(mc):
    lines = mc.card("clearzoom-small", mc.CARDS["clearzoom-small"])
    text = "\n".join(lines)
    assert "**Set5, clean LR**" in text and "| clearzoom-small |" in text
    assert "RDN-LIIF (published)" in text  # published numbers beside ours, protocol marked
    assert (
        "### Training" in text and "![crops](results/bench-clearzoom-small/crops_Set5_jpeg30_x4.png)" in text
    )


def test_a_model_in_training_points_to_the_notes_only_while_a_target_is_not_met(mc, tmp_path, monkeypatch):
    monkeypatch.setattr(mc, "ROOT", tmp_path)
    (tmp_path / "docs/results/training").mkdir(parents=True)
    info = dict(mc.CARDS["clearzoom-jpeg"])

    def section(met: list[bool]) -> str:
        rec = {
            "date": "2026-12-02T10:00",
            "jpeg": {"steps": 100, "cpu_hours": 0.1},
            "gains": {"clearzoom-jpeg Set5 x4 jpeg:30": 0.97},
            "targets": [{"target": f"t{i}", "measured": "x", "met": ok} for i, ok in enumerate(met)],
        }
        (tmp_path / "docs/results/training/progress.jsonl").write_text(json.dumps(rec) + "\n")
        return "\n".join(mc.in_training("clearzoom-jpeg", info))

    assert "| t1 | x | **no** |" in section([True, False])
    assert info["targets_note"] in section([True, False])
    assert info["targets_note"] not in section([True, True])


def test_interim_weights_are_marked_until_the_schedule_ends(mc, tmp_path, monkeypatch):
    monkeypatch.setattr(mc, "ROOT", tmp_path)
    steps = mc.load_model("clearzoom-jpeg").provenance["steps"]
    for planned, interim in ((steps + 1, True), (steps, False)):
        (tmp_path / "c.yaml").write_text(f"train:\n  steps: {planned}\n")
        text = "\n".join(mc.card("clearzoom-jpeg", {**mc.CARDS["clearzoom-jpeg"], "config": "c.yaml"}))
        assert ("**Interim weights**" in text) == interim
        assert (f"| compute | {steps} of {planned} steps" in text) == interim


def test_the_readme_quotes_the_cards_measurements(mc):
    """The README's models table is the one generated from the card's committed benches."""
    rows = mc._load_bench(mc.CARDS[mc.DEFAULT_MODEL]["bench"])
    table = mc.readme_table(rows)
    assert len(table) == 2 + len(mc.README_ROWS)  # every row measured for every model
    readme = (ROOT / "README.md").read_text()
    assert "\n".join(table) in readme, "README is stale: run python -m scripts.regen --only readme"


def test_the_readme_table_leaves_out_what_was_not_measured_and_is_replaced_in_place(mc, tmp_path):
    rows = [
        {"method": m, "dataset": "Set5", "degradation": "clean", "scale": s, "psnr_y": v + s}
        for m, v in (("bicubic", 30.0), ("clearzoom:a", 31.0), ("clearzoom:b", 29.5))
        for s in (2, 4, 8)
    ]
    table = mc.readme_table(rows, models=("a", "b"))
    assert table[2:] == [
        "| Set5 ×2 / ×4 / ×8 | 32.00 / 34.00 / 38.00 | 33.00 / 35.00 / 39.00 "
        "(+1.00 / +1.00 / +1.00) | 31.50 / 33.50 / 37.50 (−0.50 / −0.50 / −0.50) |"
    ]
    readme = f"intro\n{mc._README_BEGIN}\nold table\n{mc._README_END}\noutro\n"
    assert (
        with_block(readme, mc._README_BEGIN, mc._README_END, table)
        == f"intro\n{mc._README_BEGIN}\n" + "\n".join(table) + f"\n{mc._README_END}\noutro\n"
    )
    with pytest.raises(ValueError, match="markers"):
        with_block("no markers\n", mc._README_BEGIN, mc._README_END, table)


@pytest.fixture(scope="module")
def qe():
    return explain_excerpt


def test_the_readme_quotes_the_committed_explain_report(qe):
    """The README's excerpt is the one generated from docs/explain/osprey-small.md."""
    lines = qe.excerpt(qe.REPORT.read_text())
    assert lines[0].startswith("> **Task:** JPEG-compressed photo") and len(lines) > 8
    readme = (ROOT / "README.md").read_text()
    assert f"{qe.BEGIN}\n" + "\n".join(lines) + f"\n{qe.END}" in readme, (
        "README is stale: run python -m scripts.regen --only readme"
    )


def test_the_excerpt_names_the_slowest_stage_and_refuses_other_markdown(qe):
    report = (
        "**Task:** enlarge\n## 2. Workflow\nTotal 2.000 s; the stages account for 1.900 s.\n\n"
        "| stage | shape | parameters | MACs | calls | seconds | share | what |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| encoder | 1×2 | 10 | 1 G | 1 | 0.500 | 26.3% | codes |\n"
        "| MLP decoder | 1×3 | 20 | 2 G | 9 | 1.400 | 73.7% | colours |\n## 3. Result\n| a | b |\n"
    )
    lines = qe.excerpt(report)
    assert "> | encoder | 1×2 | 10 | 1 G | 1 | 0.500 | 26.3% |" in lines
    assert lines[-1] == (
        "> Total 2.000 s, of which the stages account for 1.900 s. Most of the time goes to the MLP decoder."
    )
    with pytest.raises(ValueError, match="not an explain report"):
        qe.excerpt("**Task:** x\n## 2. Workflow\nno table\n## 3. Result\n")


def test_no_generated_file_is_stale():
    """The committed card, RESULTS.md and README blocks are what their inputs give, the explain
    report is regen's, and no benchmark folder holds numbers of other weights."""
    assert regen.stale_files() == []
    stale, _notes = regen.check_bench()
    assert stale == []


def test_the_check_fails_on_an_edited_generated_file():
    edited = {
        ROOT / "docs" / "models.md": lambda t: t.replace("31.44", "31.54", 1),
        ROOT / "benchmarks" / "RESULTS.md": lambda t: t + "\nA hand-written line.\n",
        ROOT / "README.md": lambda t: t.replace("| Set5 ×2 / ×4 / ×8 | 33.68", "| Set5 ×2 / ×4 / ×8 | 33.86"),
    }
    for path, edit in edited.items():
        text = path.read_text()
        assert edit(text) != text, path

        def read(p: Path, path=path, edit=edit) -> str:
            return edit(p.read_text()) if p == path else p.read_text()

        assert regen.stale_files(read) == [f"{path.relative_to(ROOT)}: differs from what its inputs give"]


def test_the_bench_check_fails_when_a_models_weights_change(monkeypatch):
    from clearzoom.eval import runner

    real = runner.method_fingerprint
    monkeypatch.setattr(
        runner, "method_fingerprint", lambda m, p, b=Path("."): real(m, p, b) + ("!" if "jpeg" in m else "")
    )
    stale, _ = regen.check_bench()
    assert any("clearzoom:clearzoom-jpeg was measured with other weights" in s for s in stale), stale


def test_generated_markdown_names_its_command():
    generated = {
        "docs/models.md": "card",
        "benchmarks/RESULTS.md": "results",
        "docs/explain/osprey-small.md": "explain",
    }
    for path, target in generated.items():
        first = (ROOT / path).read_text().split("\n", 1)[0]
        assert first.startswith(f"<!-- Generated by `python -m scripts.regen --only {target}`"), path

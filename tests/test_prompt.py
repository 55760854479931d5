"""The prompt parser of task-steered restoration (issue 22): every task and geometry right on the
shared development phrasings and on phrasings of our own, the exact ``to_dict`` shape, vague
requests left to ``auto``, and no text that makes it raise."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clearzoom
from benchmarks.bench_prompt import SETS, score
from clearzoom.instruct import TASKS, parse_prompt


@pytest.mark.parametrize("name", sorted(SETS))
def test_tasks_and_geometry_of_labelled_phrasings(name):
    if not SETS[name].is_file():
        pytest.skip(f"{SETS[name]} is missing")
    result = score(SETS[name])
    n = result["phrasings"]
    assert result["tasks_right"] >= 0.95 * n and result["geometry_right"] >= 0.98 * n, result["misses"]


def test_the_dict_has_exactly_the_documented_shape():
    d = clearzoom.parse_prompt("make it 3.5x bigger and remove the grain but keep it sharp").to_dict()
    assert d == {
        "tasks": {"noise": 1.0},
        "auto": False,
        "scale": 3.5,
        "size": None,
        "width": None,
        "height": None,
    }
    d = parse_prompt("resize to 1600x1200 and deblock").to_dict()
    assert d["size"] == [1600, 1200] and d["tasks"] == {"jpeg": 1.0} and d["scale"] is None


def test_intensity_words_set_the_strength_and_matched_words_are_kept():
    p = parse_prompt("a little denoising, and strong deblocking")
    assert p.tasks == {"noise": 0.5, "jpeg": 1.0}
    assert p.matched["noise"] == ["denoising"] and p.matched["jpeg"] == ["deblocking"]


@pytest.mark.parametrize("text", ["make it better", "enhance", "", "restore this old photo", "please help"])
def test_vague_requests_are_auto_never_a_task(text):
    p = parse_prompt(text)
    assert p.auto and p.tasks == {}


@pytest.mark.parametrize(
    "text, scale",
    [("x2", 2), ("2x", 2), ("200%", 2), ("double it", 2), ("three times", 3), ("by a factor of 1.5", 1.5)],
)
def test_scale_forms(text, scale):
    assert parse_prompt(text).scale == scale


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses(text):
    d = parse_prompt(text).to_dict()
    assert set(d["tasks"]) <= set(TASKS) and all(0 < v <= 1 for v in d["tasks"].values())
    assert d["scale"] is None or 0 < d["scale"] <= 64


def test_upscale_takes_its_size_and_deblocking_from_the_prompt(tmp_path):
    from click.testing import CliRunner
    from conftest import BENCH
    from PIL import Image

    from clearzoom.cli.main import main

    src = tmp_path / "in.jpg"
    Image.open(BENCH / "Set5" / "bird.png").convert("RGB").crop((60, 60, 124, 108)).save(src, quality=30)
    run = lambda *a: CliRunner().invoke(main, ["upscale", str(src), "--threads", "1", *a])  # noqa: E731
    r = run(
        "--prompt",
        "make it one and a half times bigger but keep the jpeg blocks",
        "-o",
        str(tmp_path / "p.png"),
    )
    assert r.exit_code == 0, r.output
    assert "no deblocking asked" in r.output
    assert Image.open(tmp_path / "p.png").size == (96, 72)
    r = run("--scale", "1.5", "--input-quality", "clean", "-q", "-o", str(tmp_path / "c.png"))
    assert (tmp_path / "c.png").read_bytes() == (tmp_path / "p.png").read_bytes()
    r = run("--prompt", "upscale 1.5x", "-q", "-o", str(tmp_path / "d.png"))
    assert (tmp_path / "d.png").read_bytes() != (tmp_path / "p.png").read_bytes()  # deblocked
    assert run("--prompt", "make it better", "-o", str(tmp_path / "x.png")).exit_code == 2
    assert run("--prompt", "2x", "--scale", "2", "-o", str(tmp_path / "x.png")).exit_code == 2


def test_explain_shows_the_parse_and_marks_instruct_ipt_used(tmp_path):
    from conftest import BENCH
    from PIL import Image

    from clearzoom.explain import explain

    src = tmp_path / "in.png"
    Image.open(BENCH / "Set5" / "bird.png").convert("RGB").crop((60, 60, 124, 108)).save(src)
    r = explain(src, prompt="make it 96 pixels wide and remove the grain", model="clearzoom-small").report
    assert (r["output"]["width"], r["output"]["height"]) == (96, 72)
    p = r["run"]["prompt"]
    assert p["tasks"] == {"noise": 1.0} and p["matched"] == {"noise": ["grain"]} and p["width"] == 96
    (ipt,) = [ref for ref in r["references"] if ref["title"].startswith("Instruct-IPT")]
    assert "clearzoom.instruct.prompt" in ipt["used"]
    plain = explain(src, scale=1.5, model="clearzoom-small").report
    assert "prompt" not in plain["run"]
    assert not [ref for ref in plain["references"] if ref["title"].startswith("Instruct-IPT")][0]["used"]

"""``clearzoom encode`` and ``clearzoom decode``: files, errors and exit codes."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import ROOT, SHARED

from benchmarks.coding_set import render
from clearzoom.cli.main import main

pytest.importorskip("rapidocr_onnxruntime", reason="the coding extra (bash scripts/setup.sh installs it)")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def sign_png(tmp_path_factory):
    image, labels = render(sorted((SHARED / "data" / "train" / "BSD200").glob("*"))[3], seed=5)
    path = tmp_path_factory.mktemp("sign") / "sign.png"
    image.save(path)
    return path, labels


def test_encode_dry_run_shows_the_ranking_and_writes_nothing(sign_png, tmp_path):
    src, labels = sign_png
    r = run(
        "encode",
        src,
        "-o",
        tmp_path / "a.czp",
        "--dry-run",
        "--roi",
        "1,2,30,20:logo",
        "--detect",
        "text",
        "--prompt",
        "the logo, then text",
    )
    assert r.exit_code == 0, r.output
    plan = json.loads(r.output)
    assert plan["prompt_order"] == ["logo", "text"] and plan["rules"][0].startswith("explicit rank")
    assert [x["label"] for x in plan["regions"]] == ["logo"] + ["text"] * len(labels)
    assert not (tmp_path / "a.czp").exists()


def test_encode_then_decode_with_a_budget_and_a_prefix(sign_png, tmp_path):
    src, labels = sign_png
    czp = tmp_path / "a.czp"
    r = run("encode", src, "-o", czp, "--budget", "6kB")
    assert r.exit_code == 0, r.output
    assert czp.stat().st_size <= 6000 and f"{1 + len(labels)} layers" in r.output
    r = run("encode", src, "-o", czp, "--budget", "6kB")
    assert r.exit_code == 1 and "exists" in r.output
    out = tmp_path / "a.png"
    r = run("decode", czp, "-o", out, "--scale", "2", "--layers", "1")
    assert r.exit_code == 0, r.output
    assert "768x512 from 1 of" in r.output and out.exists()
    cut = tmp_path / "cut.czp"
    cut.write_bytes(czp.read_bytes()[:-10])
    r = run("decode", cut, "-o", tmp_path / "cut.png")
    assert r.exit_code == 0 and "warning: layer" in r.output and "truncated" in r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--budget", "lots"], "budget must be bytes"),
        (["--budget", "100"], "too small"),
        (["--quality", "base=0"], "1..100"),
        (["--codec", "region=gif"], "choose"),
        (["--grounding", "missing.json"], "cannot read grounding file"),
        (["--detect", "cats"], "unknown detector"),
    ],
)
def test_encode_refuses_bad_options_in_one_line(sign_png, tmp_path, args, message):
    src, _ = sign_png
    r = run("encode", src, "-o", tmp_path / "x.czp", *args)
    assert r.exit_code != 0 and message in r.output
    assert not (tmp_path / "x.czp").exists()


def test_decode_refuses_what_is_not_a_czp(sign_png, tmp_path):
    src, _ = sign_png
    r = run("decode", src, "-o", tmp_path / "x.png")
    assert r.exit_code == 1 and r.output.strip() == "error: not a .czp file: bad magic bytes"
    r = run("decode", tmp_path / "missing.czp", "-o", tmp_path / "x.png")
    assert r.exit_code == 1 and "cannot read" in r.output


def test_explain_describes_a_czp_its_layers_and_marks_sdcomp_used(sign_png, tmp_path):
    import jsonschema

    from clearzoom.explain import explain, to_html

    src, labels = sign_png
    czp = tmp_path / "e.czp"
    assert run("encode", src, "-o", czp, "--quality", "base=30,region=80").exit_code == 0
    cut = tmp_path / "cut.czp"
    cut.write_bytes(czp.read_bytes()[:-5])  # the last region is torn
    result = explain(cut, scale=2)
    r = result.report
    schema = json.loads((ROOT / "src" / "clearzoom" / "explain" / "report.schema.json").read_text())
    jsonschema.validate(json.loads(json.dumps(r)), schema)
    coding = r["run"]["coding"]
    assert [x["kind"] for x in coding["layers"]] == ["base"] + ["region"] * (len(labels) - 1)
    assert coding["dropped"] == [{"index": len(labels), "why": "truncated"}]
    assert coding["layers"][0]["decoded"].startswith("restored by the model")
    assert coding["ranking_rules"][0].startswith("explicit rank")
    assert (r["output"]["width"], r["output"]["height"]) == (768, 512)
    used = {ref["title"].split(":")[0]: ref["used"] for ref in r["references"]}
    assert "clearzoom.coding" in used["Tell Codec What Worth Compressing"]
    assert "Semantic coding (.czp v1" in to_html(result)
    r = CliRunner().invoke(main, ["explain", str(czp), "--json"], catch_exceptions=False)
    assert r.exit_code == 0 and '"coding"' in r.output

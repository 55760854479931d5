"""``clearzoom explain``: the report's facts, stage trace, schema, references, HTML in Chromium."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from conftest import BENCH, CHROMIUM, ROOT, SHARED, make_tiny, open_page
from PIL import Image

from clearzoom.checkpoints.native import save_native
from clearzoom.cli.main import main
from clearzoom.explain import explain, write_report

SCHEMA = ROOT / "src" / "clearzoom" / "explain" / "report.schema.json"


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    m = make_tiny(seed=3, skip="bilinear")
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_native(
        path,
        spec=m.spec,
        state_dict=m.net.state_dict(),
        normalization=m.normalization,
        description="tiny random test model",
    )
    return path


@pytest.fixture(scope="module")
def jpeg_photo(tmp_path_factory) -> Path:
    src = BENCH / "Set14" / sorted(p.name for p in (BENCH / "Set14").iterdir())[1]
    img = Image.open(src).convert("RGB")
    img = img.crop((0, 0, 96, 80))
    path = tmp_path_factory.mktemp("in") / "photo.jpg"
    img.save(path, quality=35, subsampling="4:2:0")
    return path


@pytest.fixture(scope="module")
def result(jpeg_photo, tiny_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "up.png"
    return explain(jpeg_photo, scale=4, model=tiny_file, device="cpu", precision="fp32", save_output=out), out


def test_report_facts(result):
    res, out = result
    r = res.report
    assert r["input"]["jpeg"]["quality"] == 35 and r["input"]["jpeg"]["subsampling"] == "4:2:0"
    assert r["task"].startswith("JPEG-compressed photo (quality ≈ 35, 4:2:0) — enlarge ×4 to 384×320")
    assert (r["output"]["width"], r["output"]["height"]) == (384, 320)
    assert Image.open(out).size == (384, 320)  # --save-output wrote the image
    assert set(r["result"]["blockiness"]) == {"input", "bicubic", "clearzoom"}
    assert [im.size for im in res.images.values()] == [(192, 192)] * 3


def test_report_validates_against_the_schema(result):
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(json.dumps(result[0].report)), schema)
    broken = json.loads(json.dumps(result[0].report))
    broken["input"]["jpeg"]["quality"] = 0
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_references_are_exactly_the_four_works(result):
    refs = result[0].report["references"]
    text = (SHARED / "REFERENCES.md").read_text()
    section = text.split("## The works clearzoom rests on")[1].split("\n## ")[0]
    arxiv_ids = set(re.findall(r"arxiv\.org/pdf/(\d{4}\.\d{5})", section))
    assert len(arxiv_ids) == 4
    assert len(refs) == 4
    assert {re.search(r"(\d{4}\.\d{5})", r["url"]).group(1) for r in refs} == arxiv_ids
    assert all(r["role"] for r in refs)


def test_stage_shapes_match_the_real_tensors(result, jpeg_photo, tiny_file):
    from clearzoom import load_model

    r = result[0].report
    stages = {s["name"]: s for s in r["stages"]}
    net = load_model(tiny_file).net
    img = torch.from_numpy(np.asarray(Image.open(jpeg_photo).convert("RGB"), dtype=np.float32) / 255)
    inp = (img.permute(2, 0, 1)[None] - 0.5) / 0.5
    with torch.no_grad():
        feat = net.gen_feat(inp)
        proj = net.project(feat)
    assert r["run"]["tiles"] == 1  # one tile, so the first call's shapes are the whole image's
    assert stages["decode"]["shape"] == [80, 96, 3]
    assert stages["normalise"]["shape"] == list(inp.shape)
    assert stages["encoder"]["shape"] == list(feat.shape)
    assert stages["feature unfolding"]["shape"] == list(proj.shape)
    hidden = net.imnet.layers[0].out_features
    chunk = r["run"]["chunk_queries"]
    assert stages["query grid"]["shape"] == [1, chunk, 2]
    assert stages["local ensemble"]["shape"] == [4, 1, chunk, hidden]
    assert stages["MLP decoder"]["shape"] == [4, 1, chunk, 3]
    assert stages["de-normalise"]["shape"] == [3, 320, 384]
    assert stages["encode"]["shape"] == [320, 384, 3]
    assert stages["query grid"]["calls"] == -(-384 * 320 // chunk)
    assert (
        stages["local ensemble"]["calls"] == stages["MLP decoder"]["calls"] == stages["query grid"]["calls"]
    )
    assert stages["encoder"]["params"] == sum(p.numel() for p in net.encoder.parameters())
    enc_macs = sum(
        m.in_channels * m.out_channels * 9 * 80 * 96
        for m in net.encoder.modules()
        if isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3)
    )
    assert stages["encoder"]["macs"] == enc_macs


def test_stage_times_add_up_to_the_total(result):
    r = result[0].report
    assert r["stage_seconds"] == pytest.approx(sum(s["seconds"] for s in r["stages"]), abs=1e-3)
    assert 0.9 * r["total_seconds"] <= r["stage_seconds"] <= r["total_seconds"] + 1e-3


def test_markdown_report_writes_its_images(result, tmp_path):
    path = write_report(result[0], tmp_path / "rep.md")
    text = path.read_text()
    assert "## 2. Workflow" in text and "](rep_files/clearzoom.png)" in text
    for name in ("input.png", "bicubic.png", "clearzoom.png"):
        assert Image.open(tmp_path / "rep_files" / name).size == (192, 192)


def test_png_input_has_no_jpeg_in_its_report(tmp_path, tiny_file):
    Image.open(BENCH / "Set5" / sorted(p.name for p in (BENCH / "Set5").iterdir())[0]).convert("RGB").crop(
        (0, 0, 40, 40)
    ).save(tmp_path / "in.png")
    r = explain(tmp_path / "in.png", size=(100, 60), model=tiny_file, device="cpu").report
    assert r["input"]["jpeg"] is None and r["input"]["format"] == "PNG"
    assert (r["output"]["width"], r["output"]["height"]) == (100, 60)
    assert "encode" not in [s["name"] for s in r["stages"]]  # nothing saved, nothing encoded


def test_cli_json_and_errors(jpeg_photo, tiny_file, tmp_path):
    run = CliRunner().invoke(
        main, ["explain", str(jpeg_photo), "--scale", "2", "--json", "--model", str(tiny_file)]
    )
    assert run.exit_code == 0, run.output
    r = json.loads(run.output)
    assert r["input"]["jpeg"]["quality"] == 35 and r["output"]["width"] == 192
    bad = CliRunner().invoke(
        main, ["explain", str(tmp_path / "nope.jpg"), "--scale", "2", "--json", "--model", str(tiny_file)]
    )
    assert bad.exit_code == 1 and bad.output.startswith("error: ") and len(bad.output.splitlines()) == 1
    both = CliRunner().invoke(main, ["explain", str(jpeg_photo), "--scale", "2", "--size", "9x9", "--json"])
    assert both.exit_code == 2


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium not installed (scripts/setup.sh installs it)"
)
def test_html_report_opens_in_headless_chromium(result, tmp_path):
    from playwright import sync_api

    page_path = write_report(result[0], tmp_path / "report.html")
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser, page = open_page(pw, {"width": 1200, "height": 900}, errors)
        page.goto(page_path.as_uri())
        assert page.inner_text("#task") == result[0].report["task"]
        loaded = page.evaluate("Array.from(document.images).map(i => i.complete && i.naturalWidth)")
        assert loaded == [192, 192, 192]
        assert page.locator("#references li").count() == 4
        shot = page.screenshot(full_page=True)
        browser.close()
    (tmp_path / "report.png").write_bytes(shot)
    assert not errors, errors
    img = Image.open(io.BytesIO(shot))
    assert img.width == 1200 and img.height > 900
    assert np.asarray(img.convert("L")).std() > 10  # a real page, not a blank one


def test_a_self_ensemble_run_says_so_and_runs_each_stage_eight_times(jpeg_photo, tiny_file, tmp_path):
    kw = dict(scale=2, model=tiny_file, device="cpu", precision="fp32")
    plain, tta = explain(jpeg_photo, **kw), explain(jpeg_photo, tta=True, **kw)
    assert "self_ensemble" not in plain.report["run"]
    assert "8 renders" in tta.report["run"]["self_ensemble"]
    enc = [next(s for s in r.report["stages"] if s["name"] == "encoder") for r in (plain, tta)]
    assert enc[1]["calls"] == 8 * enc[0]["calls"]
    write_report(tta, tmp_path / "r.md")
    assert "Self-ensemble: mean of 8 renders" in (tmp_path / "r.md").read_text()

"""The CLI through click's runner, on real images, with the shipped default model."""

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import OFFICIAL
from PIL import Image

from clearzoom.cli.main import main


@pytest.fixture
def jpeg(tmp_path, photo):
    p = tmp_path / "x.jpg"
    photo.save(p, quality=30)
    return p


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_exact_size(jpeg, tmp_path):
    r = run("upscale", jpeg, "--size", "1001x667", "-o", tmp_path / "y.png", "-q")
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "y.png").size == (1001, 667)


def test_scale_follows_the_rounding_rule(jpeg, tmp_path):
    r = run("upscale", jpeg, "--scale", "3.7", "-o", tmp_path / "y.png", "-q")
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "y.png").size == (round(64 * 3.7), int(48 * 3.7 + 0.5))  # 237 x 178


def test_rgba_in_rgba_out_and_width_only(tmp_path, photo):
    src = tmp_path / "a.png"
    rgba = photo.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(src)
    r = run("upscale", src, "--width", "100", "-o", tmp_path / "b.png", "-q")
    assert r.exit_code == 0, r.output
    out = Image.open(tmp_path / "b.png")
    assert out.mode == "RGBA" and out.size == (100, 75)
    assert np.asarray(out)[..., 3].min() == 128


def test_bad_inputs_fail_cleanly_and_the_batch_goes_on(tmp_path, jpeg):
    (tmp_path / "notimage.png").write_text("not an image")
    good = Image.new("RGB", (64, 64), "red")
    good.save(tmp_path / "full.png")
    (tmp_path / "trunc.png").write_bytes((tmp_path / "full.png").read_bytes()[:70])
    out = tmp_path / "out"
    r = run(
        "upscale",
        tmp_path / "notimage.png",
        tmp_path / "trunc.png",
        jpeg,
        tmp_path / "missing.png",
        "--scale",
        "2",
        "--out-dir",
        out,
        "-q",
    )
    assert r.exit_code == 1
    errors = [line for line in r.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 4  # 3 bad files + the summary, one line each
    assert sorted(p.name for p in out.iterdir()) == ["x.png"]  # the good one got done, no partials


@pytest.mark.parametrize(
    "args,message",
    [
        (["--scale", "0"], "positive"),
        (["--scale", "-1"], "positive"),
        (["--scale", "100"], "more than 64x"),
        (["--size", "0x10"], "positive"),
    ],
)
def test_bad_targets(jpeg, tmp_path, args, message):
    r = run("upscale", jpeg, *args, "-o", tmp_path / "y.png", "-q")
    assert r.exit_code != 0
    assert message in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "y.png").exists()


def test_unwritable_output_and_missing_model(jpeg, tmp_path):
    r = run("upscale", jpeg, "--scale", "2", "-o", tmp_path / "no" / "dir" / "y.png", "-q")
    assert r.exit_code == 1 and "does not exist" in r.output
    r = run("upscale", jpeg, "--scale", "2", "-o", "/proc/y.png", "-q")
    assert r.exit_code == 1 and r.output.startswith("error:")
    r = run("upscale", jpeg, "--scale", "2", "--model", tmp_path / "nope.pth", "-o", tmp_path / "y.png")
    assert r.exit_code == 2 and "neither a model name" in r.output
    assert not list(tmp_path.glob("*y.png*")) and not list(tmp_path.glob(".*part"))


def test_never_overwrites_unless_asked(jpeg, tmp_path):
    before = jpeg.read_bytes()
    r = run("upscale", jpeg, "--scale", "2", "-o", jpeg, "-q")
    assert r.exit_code == 1 and "is the input itself" in r.output
    assert jpeg.read_bytes() == before
    r = run("upscale", jpeg, "--scale", "2", "-o", jpeg, "-q", "--overwrite")
    assert r.exit_code == 0 and Image.open(jpeg).size == (128, 96)


def test_models_and_convert(tmp_path, jpeg):
    r = run("models")
    assert r.exit_code == 0 and r.output.startswith("clearzoom-jpeg (default):")
    dst = tmp_path / "official.safetensors"
    r = run("convert", OFFICIAL / "edsr-baseline-liif-random-seed0.pth", dst)
    assert r.exit_code == 0 and dst.is_file()
    r = run(
        "upscale",
        jpeg,
        "--scale",
        "2",
        "--model",
        dst,
        "-o",
        tmp_path / "o.png",
        "-q",
        "--precision",
        "fp32",
        "--tile",
        "16",
    )
    assert r.exit_code == 0, r.output
    r = run("convert", tmp_path / "missing.pth", tmp_path / "m.safetensors")
    assert r.exit_code == 1 and "no such checkpoint" in r.output


def test_bench_quality_command(tmp_path):
    from conftest import BENCH

    r = run(
        "bench",
        "quality",
        "--data",
        BENCH / "Set5",
        "--scales",
        "3,4",
        "--out",
        tmp_path / "o",
        "--json",
        tmp_path / "r.json",
        "-q",
    )
    assert r.exit_code == 0, r.output
    assert "| Set5 | clean | x4 | bicubic |" in r.output and (tmp_path / "r.json").is_file()
    assert (tmp_path / "o" / "crops_Set5_clean_x4.png").is_file()
    r = run("bench", "quality", "--data", tmp_path / "missing", "--out", tmp_path / "o2", "-q")
    assert r.exit_code == 1 and r.output.startswith("error:") and "does not exist" in r.output


def test_bench_without_matplotlib_still_succeeds_with_its_numbers(tmp_path, monkeypatch, caplog):
    from conftest import BENCH

    from clearzoom.errors import ClearZoomError
    from clearzoom.eval import figures

    def missing():
        raise ClearZoomError("plots need matplotlib: pip install 'clearzoom[eval]'")

    monkeypatch.setattr(figures, "_pyplot", missing)
    r = run("bench", "quality", "--data", BENCH / "Set5", "--scales", "4", "--out", tmp_path / "o", "-q")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "o" / "results.json").is_file() and (
        tmp_path / "o" / "crops_Set5_clean_x4.png"
    ).is_file()
    assert not (tmp_path / "o" / "psnr_vs_scale.png").exists() and "plots skipped" in caplog.text


def test_bench_speed_command(tmp_path):
    r = run(
        "bench",
        "speed",
        "--sizes",
        "32",
        "--scales",
        "2",
        "--precisions",
        "fp32",
        "--threads",
        "1",
        "--repeats",
        "1",
        "--json",
        tmp_path / "s.json",
    )
    assert r.exit_code == 0, r.output
    import json

    d = json.loads((tmp_path / "s.json").read_text())
    assert d["machine"]["cores"] >= 1 and d["machine"]["torch"] and len(d["date"]) == 10
    (row,) = d["rows"]
    assert row["output"] == "64x64" and row["ms_per_mp"] > 0 and 50 < row["peak_rss_mb"] < 4000
    r = run(
        "bench",
        "speed",
        "--model",
        tmp_path / "missing.pth",
        "--sizes",
        "32",
        "--scales",
        "2",
        "--precisions",
        "fp32",
        "--threads",
        "1",
        "--repeats",
        "1",
    )
    assert r.exit_code == 1 and "neither a model name" in r.output


def test_self_ensemble_stays_close_to_the_single_render(jpeg, tmp_path):
    assert run("upscale", jpeg, "--scale", "2", "-o", tmp_path / "a.png", "-q").exit_code == 0
    r = run("upscale", jpeg, "--scale", "2", "--tta", "-o", tmp_path / "b.png", "-q")
    assert r.exit_code == 0, r.output
    a, b = (np.asarray(Image.open(tmp_path / n), np.float64) for n in ("a.png", "b.png"))
    assert a.shape == b.shape == (96, 128, 3)
    diff = np.abs(a - b).mean()
    assert 0.05 < diff < 4  # a trained model is nearly flip-equivariant: the mean differs a little


def test_a_folder_keeps_its_tree_and_a_batch_resumes(tmp_path, photo):
    src = tmp_path / "album"
    (src / "2019" / "june").mkdir(parents=True)
    (src / ".thumbs").mkdir()
    photo.save(src / "a.jpg", quality=40)
    photo.convert("L").save(src / "2019" / "june" / "b.PNG")
    photo.save(src / ".thumbs" / "c.jpg")  # hidden: left alone
    (src / "notes.txt").write_text("not an image")
    out = src / "big"  # inside the folder: never read back as input
    r = run("upscale", src, "--scale", "1.5", "--out-dir", out, "--format", "webp", "-q")
    assert r.exit_code == 0, r.output
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["2019/june/b.webp", "a.webp"]
    assert Image.open(out / "2019" / "june" / "b.webp").size == (96, 72)

    stamp = (out / "2019" / "june" / "b.webp").stat().st_mtime_ns
    again = run("upscale", src, "--scale", "1.5", "--out-dir", out, "--format", "webp", "-q")
    assert again.exit_code == 1 and "b.webp: exists" in again.output  # never overwritten
    (out / "a.webp").unlink()  # as if the batch had been stopped before it
    resumed = run("upscale", src, "--scale", "1.5", "--out-dir", out, "--format", "webp", "--skip-existing")
    assert resumed.exit_code == 0, resumed.output
    assert "skipping 1 image(s) whose output exists" in resumed.output
    assert (out / "a.webp").exists() and (out / "2019" / "june" / "b.webp").stat().st_mtime_ns == stamp


def test_a_suffix_names_outputs_so_they_can_sit_beside_the_inputs(tmp_path, photo):
    src = tmp_path / "album"
    (src / "sub").mkdir(parents=True)
    photo.save(src / "a.jpg", quality=40)
    photo.save(src / "sub" / "b.jpg", quality=40)
    r = run(
        "upscale", src / "a.jpg", "--scale", "2", "--out-dir", src, "--format", "jpg", "--suffix", "_x2", "-q"
    )  # the same folder and format: only the suffix tells them apart
    assert r.exit_code == 0, r.output
    assert Image.open(src / "a_x2.jpg").size == (128, 96)
    out = tmp_path / "out"
    r = run("upscale", src, "--scale", "1.5", "--out-dir", out, "--suffix", ".clearzoom", "-q")
    assert r.exit_code == 0, r.output
    made = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert made == ["a.clearzoom.png", "a_x2.clearzoom.png", "sub/b.clearzoom.png"]


def test_format_same_keeps_each_inputs_format(tmp_path, photo):
    photo.save(tmp_path / "a.jpg", quality=40)
    photo.save(tmp_path / "a.PNG")  # would collide with a.jpg under one output format
    photo.convert("P").save(tmp_path / "c.gif")  # a format clearzoom does not write
    out = tmp_path / "out"
    r = run(
        "upscale",
        tmp_path / "a.jpg",
        tmp_path / "a.PNG",
        tmp_path / "c.gif",
        "--scale",
        "2",
        "--out-dir",
        out,
        "--format",
        "same",
        "-q",
    )
    assert r.exit_code == 0, r.output
    assert {p.name: Image.open(p).format for p in out.iterdir()} == {
        "a.jpg": "JPEG",
        "a.png": "PNG",
        "c.png": "PNG",
    }


def test_batch_mistakes_are_refused_before_any_work(tmp_path, photo):
    for d in ("x", "y"):
        (tmp_path / d).mkdir()
        photo.save(tmp_path / d / "same.jpg")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    cases = [
        (
            [tmp_path / "x" / "same.jpg", tmp_path / "y" / "same.jpg", "--out-dir", out],
            "would both be written to",
        ),
        ([tmp_path / "empty", "--out-dir", out], "no images"),
        ([tmp_path / "x", "-o", tmp_path / "o.png"], "is a folder: use --out-dir"),
        ([tmp_path / "x", "--out-dir", out, "--overwrite", "--skip-existing"], "at most one"),
        (
            [tmp_path / "x" / "same.jpg", "-o", tmp_path / "o.png", "--suffix", "_x2"],
            "--suffix names the files of --out-dir",
        ),
        ([tmp_path / "x", "--out-dir", out, "--suffix", "/../up"], "no path separators"),
    ]
    for args, message in cases:
        r = run("upscale", *args, "--scale", "2", "-q")
        assert r.exit_code == 2 and message in r.output, r.output
    assert not out.exists()


def test_fit_in_a_box(jpeg, tmp_path):
    r = run("upscale", jpeg, "--fit", "300x300", "-o", tmp_path / "f.png", "-q")
    assert r.exit_code == 0, r.output
    assert Image.open(tmp_path / "f.png").size == (300, 225)  # 64x48 in, aspect 4:3 kept
    both = run("upscale", jpeg, "--fit", "300x300", "--scale", "2", "-o", tmp_path / "g.png")
    assert both.exit_code == 2 and "exactly one of" in both.output


def test_sigterm_unwinds_and_leaves_no_part_file(tmp_path):
    import signal
    import subprocess
    import sys

    script = (
        "import sys, time\n"
        "from clearzoom.atomic import atomic_path\n"
        "from clearzoom.cli.main import exit_on_sigterm\n"
        "exit_on_sigterm()\n"
        f"with atomic_path({str(tmp_path / 'out.png')!r}) as tmp:\n"
        "    tmp.write_bytes(b'half')\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    assert len(list(tmp_path.glob(".out.png.*.part"))) == 1
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 143
    assert list(tmp_path.iterdir()) == []


def test_explain_keeps_an_existing_pictures_folder_unless_asked(jpeg, tmp_path):
    (tmp_path / "rep_files").mkdir()
    (tmp_path / "rep_files" / "mine.txt").write_text("keep")
    r = CliRunner().invoke(main, ["explain", str(jpeg), "--scale", "2", "-o", str(tmp_path / "rep.md")])
    assert r.exit_code != 0 and "rep_files: exists" in r.output
    assert not (tmp_path / "rep.md").exists() and (tmp_path / "rep_files" / "mine.txt").read_text() == "keep"


def test_success_says_what_was_written_and_a_slow_tile_shows_a_live_bar(jpeg, tmp_path, capsys):
    import time

    from clearzoom.cli.upscale import TileBar

    r = run("upscale", jpeg, "--scale", "2", "-o", tmp_path / "o.png")
    w, h = Image.open(jpeg).size
    assert f"wrote {tmp_path / 'o.png'} ({2 * w}x{2 * h}, " in r.output
    assert "wrote" not in run("upscale", jpeg, "--scale", "2", "-o", tmp_path / "q.png", "-q").output
    with TileBar("one-tile.png", quiet=False, delay_s=0.05) as bar:
        time.sleep(0.8)  # a single tile rendering: no update() yet
        assert bar.bar is not None and bar.bar.format_dict["elapsed"] >= 0.5
        bar.update(1, 1)
    assert "one-tile.png" in capsys.readouterr().err


def test_strip_metadata_drops_exif_and_keeps_the_colour_profile(photo, tmp_path):
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif.get_ifd(0x8825)[2] = (52.0, 22.0, 1.0)  # GPSLatitude
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    src = tmp_path / "gps.jpg"
    photo.save(src, quality=60, exif=exif, icc_profile=icc)
    run("upscale", src, "--scale", "2", "-o", tmp_path / "kept.jpg", "-q")
    run("upscale", src, "--scale", "2", "-o", tmp_path / "stripped.jpg", "-q", "--strip-metadata")
    kept, stripped = Image.open(tmp_path / "kept.jpg"), Image.open(tmp_path / "stripped.jpg")
    assert kept.getexif()[0x010F] == "PhoneMaker" and kept.getexif().get_ifd(0x8825)
    assert len(stripped.getexif()) == 0 and "exif" not in stripped.info
    assert stripped.info["icc_profile"] == icc == kept.info["icc_profile"]

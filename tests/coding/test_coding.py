"""Semantic coding (.czp): the container, ranking, detectors, budgets, prefixes and damage."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import pytest
from conftest import BENCH, SHARED
from PIL import Image

from benchmarks.coding_set import render
from clearzoom.coding import (
    Container,
    Layer,
    Qualities,
    Region,
    decode,
    encode,
    load_grounding,
    pack,
    parse,
    parse_bytes,
    parse_roi,
    plan_regions,
    prompt_labels,
    rank_regions,
)
from clearzoom.coding.container import ZDICT
from clearzoom.coding.detect import detect_faces, detect_text, recognise
from clearzoom.errors import InvalidInputError

pytest.importorskip("rapidocr_onnxruntime", reason="the coding extra (bash scripts/setup.sh installs it)")


@pytest.fixture(scope="module")
def sign():
    """A training photo with rendered text, and the text's labelled regions."""
    photo = sorted((SHARED / "data" / "train" / "BSD200").glob("*"))[3]
    return render(photo, seed=5)


def _psnr_y(a, b, box=None) -> float:
    w = np.array([65.481, 128.553, 24.966]) / 255
    ya, yb = np.asarray(a, np.float64) @ w, np.asarray(b, np.float64) @ w
    if box is not None:
        x, y, bw, bh = box
        ya, yb = ya[y : y + bh, x : x + bw], yb[y : y + bh, x : x + bw]
    return float(10 * np.log10(255**2 / np.mean((ya - yb) ** 2)))


def _overlap(a, b) -> float:
    """Intersection over the smaller box's area."""
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / min(a[2] * a[3], b[2] * b[3])


def test_the_text_detector_finds_the_rendered_signs_and_the_recogniser_reads_them(sign):
    image, labels = sign
    found = detect_text(image)
    for label in labels:
        assert max(_overlap(f.box, label["box"]) for f in found) > 0.6, (label, found)
        assert recognise(image, label["box"]).replace(" ", "") == label["text"].replace(" ", "")


def test_the_face_detector_finds_lennas_face_and_no_zebra_stripes():
    lenna = detect_faces(Image.open(BENCH / "Set14" / "lenna.png"))
    assert len(lenna) == 1 and _overlap(lenna[0].box, (220, 200, 170, 170)) > 0.8
    assert detect_faces(Image.open(BENCH / "Set14" / "zebra.png")) == []


def test_saliency_stands_in_when_the_detectors_find_nothing():
    plan = plan_regions(Image.open(BENCH / "Set14" / "baboon.png").convert("RGB"))
    assert [r.label for r in plan.regions] == ["salient"]
    assert plan.regions[0].source == "detector:saliency"


def test_ranking_follows_the_written_rules():
    w, h = 200, 100
    regions = [
        Region((0, 0, 10, 10), "face"),
        Region((90, 40, 20, 20), "face"),  # central and larger: before the other face
        Region((0, 80, 30, 10), "text"),
        Region((150, 0, 40, 40), "dog"),
        Region((10, 10, 5, 5), "dog", "grounding", rank=1),  # an explicit rank wins
    ]
    plain = rank_regions(regions, w, h)
    assert [(r.label, r.box[0]) for r in plain] == [
        ("dog", 10),
        ("text", 0),
        ("face", 90),
        ("face", 0),
        ("dog", 150),
    ]
    assert [r.rank for r in plain] == [1, 2, 3, 4, 5]
    prompted = rank_regions(
        regions, w, h, prompt_labels("the dogs first, then faces", ["dog", "face", "text"])
    )
    assert [r.label for r in prompted] == ["dog", "dog", "face", "face", "text"]
    assert prompt_labels("the faces, then the text") == ["face", "text"]
    assert prompt_labels("people and signs") == ["person", "text"]
    outside = rank_regions([Region((300, 300, 10, 10), "x"), Region((190, 90, 50, 50), "y")], w, h)
    assert [r.box for r in outside] == [(190, 90, 10, 10)]  # clipped; nothing left of the first


def test_grounding_files_rois_and_budgets_parse_or_fail_in_one_line(tmp_path):
    good = tmp_path / "g.json"
    good.write_text(
        json.dumps({"regions": [{"label": "Logo", "polygon": [[1, 2], [11, 2], [6, 22]], "rank": 2}]})
    )
    (r,) = load_grounding(good)
    assert (r.box, r.label, r.rank, r.source) == ((1, 2, 10, 20), "logo", 2, "grounding")
    for bad in [
        "[",
        '{"regions": 3}',
        '[{"label": "x"}]',
        '[{"label": "x", "box": [0, 0, 0, 5]}]',
        '[{"box": [0,0,1,1], "rank": 0}]',
    ]:
        good.write_text(bad)
        with pytest.raises(InvalidInputError, match="grounding file"):
            load_grounding(good)
    assert parse_roi("5,6,7,8:Face").box == (5, 6, 7, 8) and parse_roi("5,6,7,8").label == "roi"
    with pytest.raises(InvalidInputError):
        parse_roi("5,6,7")
    assert parse_bytes("20kB") == 20000 and parse_bytes("1.5MB") == 1_500_000 and parse_bytes("2KiB") == 2048
    with pytest.raises(InvalidInputError):
        parse_bytes("lots")


def test_a_budget_is_kept_and_spent_by_rank(sign):
    image, labels = sign
    regions = rank_regions([Region(tuple(lab["box"]), "text") for lab in labels], *image.size)
    sizes = []
    for budget in (3000, 6000, 12000):
        enc = encode(image, regions, budget=budget)
        assert len(enc.data) <= budget
        assert parse(enc.data).layers[0].kind == "base"
        sizes.append(len(enc.data))
    assert sizes[0] < sizes[1] < sizes[2]
    enc = encode(image, regions, budget=6000)
    q = [layer.quality for layer in enc.container.layers[1:]]
    assert q == sorted(q, reverse=True) or len(set(q)) == 1  # rank 1 is coded at least as finely
    with pytest.raises(InvalidInputError, match="budget"):
        encode(image, regions, budget=200)


def test_regions_decode_sharper_than_the_base_and_prefixes_decode(sign, tiny_model):
    image, labels = sign
    regions = rank_regions([Region(tuple(lab["box"]), "text") for lab in labels], *image.size)
    enc = encode(image, regions, qualities=Qualities(base=30, region=90, rest=50))
    kinds = [layer.kind for layer in enc.container.layers]
    assert kinds == ["base"] + ["region"] * len(regions) + ["rest"]
    full, report = decode(enc.data, model=tiny_model)
    base_only, _ = decode(enc.data, model=tiny_model, layers=1)
    assert full.size == base_only.size == image.size
    for lab in labels:
        assert _psnr_y(full, image, lab["box"]) > _psnr_y(base_only, image, lab["box"]) + 3
    assert [u["kind"] for u in report.used] == kinds
    assert report.used[0]["how"].startswith("restored by the model")
    bigger, _ = decode(enc.data, model=tiny_model, scale=2)
    assert bigger.size == (2 * image.size[0], 2 * image.size[1])
    sized, _ = decode(enc.data, model=tiny_model, size=(100, 77), layers=2)
    assert sized.size == (100, 77)


def test_every_truncation_decodes_its_whole_layers_or_is_refused(sign, tiny_model):
    image, labels = sign
    regions = rank_regions([Region(tuple(lab["box"]), "text") for lab in labels], *image.size)
    data = encode(image, regions, qualities=Qualities(base=20, region=60)).data
    full = parse(data)
    ends = np.cumsum([0] + [layer.length for layer in full.layers])
    header_end = len(data) - ends[-1]
    for cut in sorted(
        {5, header_end - 1, header_end + 3, *(header_end + e - 1 for e in ends[1:]), len(data)}
    ):
        if cut < header_end + ends[1]:
            with pytest.raises(InvalidInputError, match="truncated|too short"):
                parse(data[:cut])
            continue
        c = parse(data[:cut])
        whole = int(np.searchsorted(ends, cut - header_end, side="right")) - 1
        assert len(c.layers) == whole
        assert len(c.dropped) == len(full.layers) - whole
        image_out, report = decode(c, model=tiny_model)
        assert image_out.size == image.size and len(report.used) == whole


def test_damage_and_hostile_headers_are_refused_cleanly(sign, tiny_model):
    image, labels = sign
    regions = rank_regions([Region(tuple(lab["box"]), "text") for lab in labels], *image.size)
    data = bytearray(encode(image, regions, qualities=Qualities(base=20, region=60)).data)
    (n,) = struct.unpack_from("<I", data, 6)
    bad = bytearray(data)
    bad[12] ^= 0xFF
    with pytest.raises(InvalidInputError, match="header is damaged"):
        parse(bytes(bad))
    bad = bytearray(data)
    bad[10 + n + 4 + 5] ^= 0xFF  # inside the base's payload
    with pytest.raises(InvalidInputError, match="base layer is damaged"):
        parse(bytes(bad))
    bad = bytearray(data)
    bad[-3] ^= 0xFF  # inside the last region: dropped, the rest decodes
    c = parse(bytes(bad))
    assert c.dropped == [(len(regions), "damaged (checksum mismatch)")]
    assert decode(c, model=tiny_model)[0].size == image.size
    for bytes_, match in [(b"PNG\x00" + bytes(20), "magic"), (b"CZP\x1a\x02\x00" + bytes(8), "version")]:
        with pytest.raises(InvalidInputError, match=match):
            parse(bytes_)

    def crafted(header: dict, payload: bytes = b"x") -> bytes:
        deflate = zlib.compressobj(9, zdict=ZDICT)
        text = deflate.compress(json.dumps(header).encode()) + deflate.flush()
        return (
            b"CZP\x1a"
            + struct.pack("<HI", 1, len(text))
            + text
            + struct.pack("<I", zlib.crc32(text))
            + payload
        )

    layer = {
        "kind": "base",
        "codec": "png",
        "quality": None,
        "box": [0, 0, 10, 10],
        "size": [10, 10],
        "length": 1,
        "crc32": zlib.crc32(b"x"),
    }
    for header, match in [
        ({"width": 70000, "height": 10, "layers": [layer]}, "size"),
        ({"width": 60000, "height": 60000, "layers": [layer]}, "larger than"),
        ({"width": 10, "height": 10, "layers": []}, "layers"),
        ({"width": 10, "height": 10, "layers": [{**layer, "box": [5, 5, 10, 10]}]}, "outside"),
        ({"width": 10, "height": 10, "layers": [{**layer, "kind": "region"}]}, "first layer"),
        ({"width": 10, "height": 10, "layers": [{**layer, "codec": "gif"}]}, "codec"),
        ({"width": 10, "height": 10, "layers": [{**layer, "length": -1}]}, "length"),
    ]:
        with pytest.raises(InvalidInputError, match=match):
            parse(crafted(header))
    with pytest.raises(InvalidInputError, match="inflates"):
        deflate = zlib.compressobj(9, zdict=ZDICT)
        text = deflate.compress(b" " * (2 << 20)) + deflate.flush()
        parse(b"CZP\x1a" + struct.pack("<HI", 1, len(text)) + text + struct.pack("<I", zlib.crc32(text)))
    # a payload larger than its entry declares is refused before it is decoded
    big = io.BytesIO()
    Image.new("RGB", (4000, 4000)).save(big, "PNG")
    c = Container(10, 10, [Layer("base", "png", None, (0, 0, 10, 10), (10, 10))], [big.getvalue()])
    with pytest.raises(InvalidInputError, match="not the 10x10"):
        decode(pack(c), model=tiny_model)


def test_the_real_restorer_beats_plain_resizing_of_the_base(sign):
    """The point of the base layer: restored by clearzoom-jpeg, it is closer to the original than
    the same base enlarged by bicubic."""
    image, _ = sign
    enc = encode(image, [], qualities=Qualities(base=40))
    restored, report = decode(enc.data)
    base = Image.open(io.BytesIO(parse(enc.data).payloads[0])).convert("RGB")
    plain = base.resize(image.size, Image.Resampling.BICUBIC)
    assert "told JPEG quality 85" in report.used[0]["how"]  # WebP q40 -> JPEG 85
    assert _psnr_y(restored, image) > _psnr_y(plain, image) + 0.3

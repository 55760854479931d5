"""Run a clearzoom model exported to ONNX (``clearzoom export --onnx``) with onnxruntime and numpy.

This module imports nothing from clearzoom, torch or PIL: ``clearzoom export --onnx`` copies it into
the export folder as ``clearzoom_onnx.py``, so the graphs can be driven where clearzoom is not
installed (a server or a phone with onnxruntime only). clearzoom's own engine uses it too
(``--backend onnxruntime``): tiling, exact sizes and metadata then work as with PyTorch.

An export folder holds (``clearzoom-onnx.json`` says the same, with the inputs' shapes):

- ``encoder.onnx``: ``rgb (1, 3, h, w)`` float32 in [0, 1] (and ``strength (1,)``, the JPEG
  strength ``1 - quality/100`` or 0 for a clean input, for JPEG-aware models) ->
  ``proj (1, h, w, hidden)``: the latent codes with the decoder's first layer applied per pixel.
- ``decoder.onnx`` (and ``decoder.int8.onnx``, its dynamic-int8 twin): ``proj`` (a window of the
  encoder's output), ``rgb`` (the same window of the input), ``coord (1, Q, 2)`` (query points,
  (y, x) in [-1, 1] of the whole output: pixel centres), ``cell (1, 1, 2)`` (``2/H, 2/W``),
  ``grid_hw`` and ``offset`` (int64 ``(2,)``: the whole input's size and the window's top-left) ->
  ``rgb (1, Q, 3)``, colours in [0, 1] (not clipped).

Example (whole image, no tiling)::

    graphs = OnnxGraphs.load("export-dir")
    out = upscale_array(graphs, rgb_hwc_float01, (out_h, out_w), jpeg_quality=30)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMAT", "MANIFEST", "OnnxGraphs", "query_coords", "upscale_array"]

FORMAT = "clearzoom-onnx"
FORMAT_VERSION = 1
MANIFEST = "clearzoom-onnx.json"


def query_coords(out_hw: tuple[int, int], window: tuple[int, int, int, int], start: int, stop: int) -> Any:
    """Centres of the output pixels ``start..stop`` (row-major) of ``window`` ``(y0, x0, h, w)`` of
    an ``out_hw`` output, as LIIF coordinates ``(1, n, 2)`` float32, (y, x) in [-1, 1]."""
    y0, x0, _, tw = window
    idx = np.arange(start, stop)
    cols = []
    for pos, n in ((y0 + idx // tw, out_hw[0]), (x0 + idx % tw, out_hw[1])):
        r = 1.0 / n
        cols.append(np.float32(-1.0 + r) + np.float32(2.0 * r) * pos.astype(np.float32))
    return np.stack(cols, axis=-1)[None].astype(np.float32)


def jpeg_strength(quality: int | None) -> float:
    """What a JPEG-aware model is told: 0 for a clean input, ``1 - quality / 100`` for JPEG."""
    return 0.0 if quality is None else 1.0 - int(quality) / 100.0


@dataclass(frozen=True)
class OnnxGraphs:
    """The encoder and decoder sessions of an export folder, and its manifest.

    Attributes:
        name: the model's name.
        manifest: ``clearzoom-onnx.json``.
        encoder, decoder: onnxruntime sessions; ``decoder_int8`` is None without an int8 graph.
    """

    name: str
    manifest: dict[str, Any]
    encoder: Any
    decoder: Any
    decoder_int8: Any = None

    @property
    def feature_radius(self) -> int:
        """LR pixels on each side that one projected code depends on (the tiles' halo)."""
        return int(self.manifest["feature_radius"])

    @property
    def condition(self) -> str | None:
        """``"jpeg"`` for a JPEG-aware model (its encoder takes ``strength``), else None."""
        return self.manifest.get("condition")

    @classmethod
    def load(cls, folder: str | os.PathLike, *, threads: int | None = None) -> OnnxGraphs:
        """Open the graphs of an export folder (CPU execution provider)."""
        import onnxruntime as ort

        folder = Path(folder)
        manifest = _read_manifest(folder)
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1

        def session(name: str | None) -> Any:
            if not name:
                return None
            path = folder / name
            try:
                return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            except Exception as exc:  # onnxruntime's own error types: a torn or foreign file
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ValueError(f"{path}: not a loadable ONNX graph ({msg[:200]})") from None

        return cls(
            name=str(manifest.get("model", folder.name)),
            manifest=manifest,
            encoder=session(manifest["encoder"]["file"]),
            decoder=session(manifest["decoder"]["file"]),
            decoder_int8=session(manifest["decoder"].get("int8_file")),
        )

    def encode(self, rgb: Any, strength: float = 0.0) -> Any:
        """``rgb (1, 3, h, w)`` float32 in [0, 1] -> projected codes ``(1, h, w, hidden)``."""
        feeds = {
            "rgb": np.ascontiguousarray(rgb, dtype=np.float32),
            "strength": np.array([strength], dtype=np.float32),
        }
        return _run(self.encoder, feeds)

    def decode(
        self, proj: Any, rgb: Any, coord: Any, cell: Any, grid_hw, offset, *, int8: bool = False
    ) -> Any:
        """Colours ``(1, Q, 3)`` at ``coord`` from a window of projected codes (see the module)."""
        sess = self.decoder_int8 if int8 and self.decoder_int8 is not None else self.decoder
        feeds = {
            "proj": np.ascontiguousarray(proj, dtype=np.float32),
            "rgb": np.ascontiguousarray(rgb, dtype=np.float32),
            "coord": coord,
            "cell": np.asarray(cell, dtype=np.float32).reshape(1, 1, 2),
            "grid_hw": np.asarray(grid_hw, dtype=np.int64),
            "offset": np.asarray(offset, dtype=np.int64),
        }
        return _run(sess, feeds)


def _read_manifest(folder: Path) -> dict[str, Any]:
    """The export's manifest, checked: its format and version, and graph file names that stay
    inside the folder (a crafted manifest cannot point onnxruntime elsewhere)."""
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no {MANIFEST} (make one with clearzoom export --onnx)")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} manifest")
    if not isinstance(manifest.get("version"), int) or manifest["version"] > FORMAT_VERSION:
        raise ValueError(
            f"{path}: version {manifest.get('version')!r}; this reader knows up to {FORMAT_VERSION}"
        )
    try:
        names = [
            manifest["encoder"]["file"],
            manifest["decoder"]["file"],
            manifest["decoder"].get("int8_file"),
        ]
        int(manifest["feature_radius"])
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(f"{path}: incomplete (encoder, decoder and feature_radius are needed)") from None
    for name in names:
        if name is not None and (
            not isinstance(name, str) or Path(name).name != name or name in ("", ".", "..")
        ):
            raise ValueError(f"{path}: graph file {name!r} must be a plain name inside the folder")
    return manifest


def _run(session: Any, feeds: dict[str, Any]) -> Any:
    """The first output of ``session`` fed those of ``feeds`` it takes (the exporter leaves out
    inputs a graph never reads: a model without JPEG conditioning has no ``strength``)."""
    wanted = {i.name for i in session.get_inputs()}
    return session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]


def upscale_array(
    graphs: OnnxGraphs,
    rgb: Any,
    out_hw: tuple[int, int],
    *,
    jpeg_quality: int | None = None,
    chunk_queries: int = 2048,
    int8: bool = False,
) -> Any:
    """Magnify ``rgb (h, w, 3)`` float32 in [0, 1] to ``out_hw``: ``(H, W, 3)`` float32 in [0, 1].

    The whole image in one encoder pass (clearzoom's engine tiles instead, with the same result).
    """
    h, w = rgb.shape[:2]
    chw = np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)
    proj = graphs.encode(chw, jpeg_strength(jpeg_quality))
    n = out_hw[0] * out_hw[1]
    out = np.empty((n, 3), dtype=np.float32)
    cell = np.array([2.0 / out_hw[0], 2.0 / out_hw[1]], dtype=np.float32)
    for s in range(0, n, chunk_queries):
        stop = min(s + chunk_queries, n)
        coord = query_coords(out_hw, (0, 0, *out_hw), s, stop)
        out[s:stop] = graphs.decode(proj, chw, coord, cell, (h, w), (0, 0), int8=int8)[0]
    return out.reshape(out_hw[0], out_hw[1], 3)


def _main(argv: list[str] | None = None) -> None:
    """``python clearzoom_onnx.py IN OUT --scale S`` (IN/OUT: .npy float32 HxWx3 in [0, 1], or any
    image Pillow reads/writes, when Pillow is installed)."""
    import argparse

    p = argparse.ArgumentParser(description="Magnify an image with a clearzoom ONNX export.")
    p.add_argument("src")
    p.add_argument("dst")
    p.add_argument("--scale", type=float, required=True)
    p.add_argument("--jpeg-quality", type=int, help="The input's JPEG quality (JPEG-aware models).")
    p.add_argument("--graphs", default=str(Path(__file__).resolve().parent), help="The export folder.")
    p.add_argument("--int8", action="store_true", help="Use the int8 decoder.")
    a = p.parse_args(argv)
    if a.src.endswith(".npy"):
        rgb = np.load(a.src).astype(np.float32)
    else:
        from PIL import Image

        rgb = np.asarray(Image.open(a.src).convert("RGB"), dtype=np.float32) / 255.0
    h, w = rgb.shape[:2]
    out_hw = (int(h * a.scale + 0.5), int(w * a.scale + 0.5))
    out = upscale_array(OnnxGraphs.load(a.graphs), rgb, out_hw, jpeg_quality=a.jpeg_quality, int8=a.int8)
    if a.dst.endswith(".npy"):
        np.save(a.dst, out)
    else:
        from PIL import Image

        Image.fromarray((out.clip(0, 1) * 255 + 0.5).astype(np.uint8)).save(a.dst)


if __name__ == "__main__":
    _main()

"""The bundled detectors, with no downloads (the ``coding`` extra):

* **text**: PP-OCRv4's text detector (DB), the ONNX model that ships inside the
  ``rapidocr-onnxruntime`` wheel (Apache-2.0), run by onnxruntime through rapidocr; a line counts
  when the same wheel's recogniser reads it with confidence;
* **face**: OpenCV's frontal-face Haar cascade (``haarcascade_frontalface_alt2.xml``, shipped in
  the OpenCV 4.x wheels, Intel's open-source licence; 5.x dropped cascades), on the histogram-
  equalised grey image. On Set14 it finds the faces of lenna and foreman, and nothing on the
  other twelve (the default cascade without equalisation took three zebra stripes for faces);
* **salient**: a fallback when neither finds anything: spectral-residual saliency (Hou and Zhang,
  CVPR 2007) on a 64-pixel-wide thumbnail (mirror-padded), the bounding box of the blob above
  twice the mean saliency that holds the most of it.

:func:`recognise` reads text with the same wheel's recogniser (the coding study's machine task).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import numpy as np
from PIL import Image

from ..errors import InvalidInputError
from .regions import Region

__all__ = ["DETECTORS", "detect", "recognise", "saliency_region"]

log = logging.getLogger(__name__)

DETECTORS = ("text", "face")
TEXT_MIN_SCORE = 0.7


@functools.lru_cache(maxsize=1)
def _ocr() -> Any:
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        raise InvalidInputError(
            "the text detector needs the coding extra: pip install 'clearzoom[coding]'"
        ) from None
    for name in ("RapidOCR", "rapidocr_onnxruntime"):  # it logs every call at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    return RapidOCR(print_verbose=False)


@functools.lru_cache(maxsize=1)
def _faces() -> Any:
    try:
        import cv2
    except ImportError:
        raise InvalidInputError(
            "the face detector needs the coding extra: pip install 'clearzoom[coding]'"
        ) from None
    data = getattr(cv2, "data", None)
    if not hasattr(cv2, "CascadeClassifier") or data is None:
        raise InvalidInputError(f"OpenCV {cv2.__version__} has no Haar cascades: the coding extra pins 4.x")
    cascade = cv2.CascadeClassifier(data.haarcascades + "haarcascade_frontalface_alt2.xml")
    if cascade.empty():
        raise InvalidInputError("OpenCV's frontal-face cascade is missing from its wheel")
    return cascade


def _bgr(image: Image.Image) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])


def detect_text(image: Image.Image, min_score: float = TEXT_MIN_SCORE) -> list[Region]:
    """Readable text lines, as boxes (PP-OCR's quadrilaterals' bounding boxes): the detector's
    lines that the recogniser reads with a confidence of ``min_score`` or more (the score kept).
    The detector alone takes fur, stripes and hair for text on 10 of Set5 and Set14's 19 photos;
    with the recogniser's confidence, only foreman's SIEMENS, ppt3's lines and one hanzi on
    barbara's cloth (0.61) remain, and the last goes below 0.7."""
    found, _ = _ocr()(_bgr(image), use_det=True, use_cls=False, use_rec=True)
    out = []
    for quad, _text, score in found or []:
        if float(score) < min_score:
            continue
        pts = np.asarray(quad, dtype=float)
        x0, y0 = np.floor(pts.min(0)).astype(int)
        x1, y1 = np.ceil(pts.max(0)).astype(int)
        box = (int(x0), int(y0), int(x1 - x0), int(y1 - y0))
        out.append(Region(box, "text", "detector:text", round(float(score), 3)))
    return out


def detect_faces(image: Image.Image) -> list[Region]:
    """Frontal faces (scale step 1.1, 5 neighbours, at least 24 pixels)."""
    import cv2

    gray = cv2.equalizeHist(np.ascontiguousarray(np.asarray(image.convert("L"))))
    found = _faces().detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    return [Region((int(x), int(y), int(w), int(h)), "face", "detector:face") for x, y, w, h in found]


def saliency_region(image: Image.Image) -> Region | None:
    """The bounding box of the largest salient blob (spectral residual), or None if flat."""
    from scipy import ndimage

    w, h = image.size
    tw = 64
    th = max(1, round(h * tw / w))
    gray = np.asarray(image.convert("L").resize((tw, th), Image.Resampling.BILINEAR), dtype=np.float64)
    pad = 16  # mirrored, so the FFT's wrap-around does not make the borders salient
    spec = np.fft.fft2(np.pad(gray, pad, mode="symmetric"))
    log_amp = np.log(np.abs(spec) + 1e-9)
    residual = log_amp - ndimage.uniform_filter(log_amp, 3, mode="wrap")
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = ndimage.gaussian_filter(sal, 4)[pad:-pad, pad:-pad]
    if not np.isfinite(sal).all() or sal.max() <= 0:
        return None
    labels, n = ndimage.label(sal > 2 * sal.mean())
    if n == 0:
        return None
    mass = ndimage.sum_labels(sal, labels, index=range(1, n + 1))
    ys, xs = np.nonzero(labels == 1 + int(np.argmax(mass)))
    sx, sy = w / tw, h / th
    x0, y0 = int(xs.min() * sx), int(ys.min() * sy)
    x1, y1 = int(np.ceil((xs.max() + 1) * sx)), int(np.ceil((ys.max() + 1) * sy))
    return Region((x0, y0, x1 - x0, y1 - y0), "salient", "detector:saliency")


def detect(image: Image.Image, which: tuple[str, ...] = DETECTORS, *, saliency: bool = True) -> list[Region]:
    """The regions the named detectors find; the salient box if they find none."""
    unknown = set(which) - set(DETECTORS)
    if unknown:
        raise InvalidInputError(
            f"unknown detector {sorted(unknown)[0]!r}: choose from {', '.join(DETECTORS)}"
        )
    found: list[Region] = []
    if "text" in which:
        found += detect_text(image)
    if "face" in which:
        found += detect_faces(image)
    log.info("detectors found %d regions", len(found))
    if not found and saliency:
        salient = saliency_region(image)
        found = [salient] if salient is not None else []
    return found


def recognise(image: Image.Image, box: tuple[int, int, int, int]) -> str:
    """The text PP-OCR's recogniser reads in ``box`` of ``image`` (one line)."""
    x, y, w, h = box
    crop = image.convert("RGB").crop((x, y, x + w, y + h))
    result, _ = _ocr()(_bgr(crop), use_det=False, use_cls=False, use_rec=True)
    return "".join(str(r[0]) for r in result or []).strip()

"""What eyes see, measured without downloaded weights: NIQE (no reference), HaarPSI and GMSD.

* **NIQE** (Mittal, Soundararajan & Bovik, "Making a 'Completely Blind' Image Quality Analyzer",
  IEEE SPL 2013): how far an image's natural-scene statistics lie from those of pristine photos;
  lower is more natural. The pristine model (``niqe_pris_params.npz``: mean, covariance and the
  7x7 window) is the authors' ``modelparameters.mat`` as redistributed by BasicSR (Apache-2.0);
  96x96 blocks, two scales, Y channel rounded to 8 bit, as their MATLAB code does.
* **HaarPSI** (Reisenhofer, Bosse, Kutyniok & Wiegand, "A Haar wavelet-based perceptual
  similarity index for image quality assessment", Signal Processing: Image Communication 2018):
  similarity of Haar wavelet coefficients in YIQ, weighted by low-frequency energy; 1 = identical.
* **GMSD** (Xue, Zhang, Mou & Bovik, "Gradient Magnitude Similarity Deviation", IEEE TIP 2014):
  the spread of the gradient magnitude similarity map; 0 = identical, higher is worse.

Implemented here from the papers (numpy/torch only); the tests compare them with independent
implementations (the MATLAB NIQE value BasicSR documents, and piq 0.8.0's HaarPSI and GMSD).
Images are ``(3, H, W)`` float in [0, 1].
"""

from __future__ import annotations

import functools
import math
from importlib import resources

import numpy as np
import torch
import torch.nn.functional as F

from ..data.resize import imresize
from .metrics import to_y

__all__ = ["gmsd", "haarpsi", "niqe"]

# ------------------------------------------------------------------------------------- NIQE
_NIQE_BLOCK = 96


@functools.cache
def _pristine() -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    with resources.files(__package__).joinpath("niqe_pris_params.npz").open("rb") as f:
        p = np.load(f)
        window = torch.from_numpy(np.asarray(p["gaussian_window"], dtype=np.float64))
        return np.asarray(p["mu_pris_param"], np.float64), np.asarray(p["cov_pris_param"], np.float64), window


@functools.cache
def _aggd_table() -> tuple[np.ndarray, np.ndarray]:
    """The AGGD shape search grid and its ratio function r(a) = Γ(2/a)² / (Γ(1/a) Γ(3/a))."""
    from math import lgamma

    shapes = np.arange(0.2, 10.001, 0.001)
    ratio = np.array([math.exp(2 * lgamma(2 / a) - lgamma(1 / a) - lgamma(3 / a)) for a in shapes])
    return shapes, ratio


def _aggd(x: np.ndarray) -> tuple[float, float, float]:
    """Moment-matching fit of an asymmetric generalised Gaussian: (shape, left and right scale)."""
    x = x.ravel()
    left = math.sqrt(np.mean(x[x < 0] ** 2))
    right = math.sqrt(np.mean(x[x > 0] ** 2))
    g = left / right
    r = np.mean(np.abs(x)) ** 2 / np.mean(x**2)
    r_norm = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    shapes, ratio = _aggd_table()
    a = float(shapes[np.argmin((ratio - r_norm) ** 2)])
    k = math.sqrt(math.gamma(1 / a) / math.gamma(3 / a))
    return a, left * k, right * k


def _block_features(block: np.ndarray) -> list[float]:
    """18 features: the AGGD of the normalised coefficients, and of their products with the
    horizontal, vertical and two diagonal neighbours (shape, mean, both scales each)."""
    a, bl, br = _aggd(block)
    feats = [a, (bl + br) / 2]
    for shift in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a, bl, br = _aggd(block * np.roll(block, shift, axis=(0, 1)))
        feats += [a, (br - bl) * math.gamma(2 / a) / math.gamma(1 / a), bl, br]
    return feats


def _mscn(img: torch.Tensor, window: torch.Tensor) -> np.ndarray:
    """Mean-subtracted, contrast-normalised coefficients (local statistics by ``window``, edges
    replicated)."""
    k = window.shape[-1] // 2
    w = window[None, None]

    def smooth(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.pad(t[None, None], (k, k, k, k), mode="replicate"), w)[0, 0]

    mu = smooth(img)
    sigma = (smooth(img * img) - mu * mu).abs().sqrt()
    return ((img - mu) / (sigma + 1)).numpy()


def niqe(img: torch.Tensor) -> float:
    """NIQE of a ``(3, H, W)`` image in [0, 1] (at least 96x96 pixels); lower is more natural."""
    mu_p, cov_p, window = _pristine()
    y = (to_y(img) * 255).round()  # float64, 8-bit levels, as the MATLAB code reads an image
    nh, nw = y.shape[0] // _NIQE_BLOCK, y.shape[1] // _NIQE_BLOCK
    if nh < 1 or nw < 1:
        raise ValueError(f"NIQE needs at least {_NIQE_BLOCK}x{_NIQE_BLOCK} pixels, got {tuple(y.shape)}")
    y = y[: nh * _NIQE_BLOCK, : nw * _NIQE_BLOCK]
    per_scale = []
    for scale in (1, 2):
        coeffs = _mscn(y, window)
        b = _NIQE_BLOCK // scale
        per_scale.append(
            [
                _block_features(coeffs[i * b : (i + 1) * b, j * b : (j + 1) * b])
                for j in range(nw)
                for i in range(nh)
            ]
        )
        y = imresize(y / 255, scale=0.5) * 255
    feats = np.concatenate([np.asarray(f) for f in per_scale], axis=1)
    mu = np.nanmean(feats, axis=0)
    cov = np.cov(feats[~np.isnan(feats).any(axis=1)], rowvar=False)
    d = (mu_p - mu).ravel()
    return float(np.sqrt(d @ np.linalg.pinv((cov_p + cov) / 2) @ d))


# ------------------------------------------------------------------------------ HaarPSI, GMSD
def _yiq(img: torch.Tensor) -> torch.Tensor:
    m = img.new_tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
    return torch.einsum("kc,chw->khw", m, img)


def _half(img: torch.Tensor) -> torch.Tensor:
    """2x2 means at stride 2 (an odd side is padded with zeros at its end)."""
    h, w = img.shape[-2:]
    return F.avg_pool2d(F.pad(img[None], (0, w % 2, 0, h % 2)), 2)[0]


def _similarity(a: torch.Tensor, b: torch.Tensor, c: float) -> torch.Tensor:
    return (2 * a * b + c) / (a * a + b * b + c)


def _haar(y: torch.Tensor, scales: int) -> torch.Tensor:
    """Haar wavelet responses of ``(H, W)``: ``(scales, 2, H, W)`` for rows and columns, each
    scale ``s`` a ``2^s`` square filter, padded as MATLAB's ``conv2(.., 'same')``."""
    out = []
    for s in range(1, scales + 1):
        k = 2**s
        f = torch.full((k, k), 1.0 / k, dtype=y.dtype)
        f[k // 2 :] *= -1
        kernels = torch.stack([f, f.t()])[:, None]
        padded = F.pad(y[None, None], (k // 2 - 1, k // 2, k // 2 - 1, k // 2))
        out.append(F.conv2d(padded, kernels)[0])
    return torch.stack(out)


def haarpsi(x: torch.Tensor, ref: torch.Tensor, *, c: float = 30.0, alpha: float = 4.2) -> float:
    """HaarPSI of ``x`` against ``ref`` (both ``(3, H, W)`` in [0, 1]); 1 = identical."""
    a, b = (_half(_yiq(t.double() * 255)) for t in (x, ref))
    wa, wb = _haar(a[0], 3), _haar(b[0], 3)
    weights = torch.maximum(wa[2].abs(), wb[2].abs())  # (2, H, W): the coarsest scale
    sim = _similarity(wa[:2].abs(), wb[:2].abs(), c).mean(0)  # (2, H, W): the two finer scales
    a_iq, b_iq = (F.avg_pool2d(F.pad(t[1:][None], (0, 1, 0, 1)), 2, stride=1)[0].abs() for t in (a, b))
    sim = torch.cat([sim, _similarity(a_iq, b_iq, c).mean(0, keepdim=True)])
    weights = torch.cat([weights, weights.mean(0, keepdim=True)])
    pooled = (torch.sigmoid(alpha * sim) * weights).sum() / weights.sum()
    return float((torch.logit(pooled) / alpha) ** 2)


def gmsd(x: torch.Tensor, ref: torch.Tensor, *, t: float = 170 / 255**2) -> float:
    """GMSD of ``x`` against ``ref`` (both ``(3, H, W)`` in [0, 1]); 0 = identical."""
    prewitt = torch.tensor([[-1.0, 0, 1]] * 3, dtype=torch.float64) / 3
    kernels = torch.stack([prewitt, prewitt.t()])[:, None]

    def magnitude(img: torch.Tensor) -> torch.Tensor:
        y = _half(_yiq(img.double())[:1])
        g = F.conv2d(y[None], kernels, padding=1)[0]
        return (g * g).sum(0).sqrt()

    gms = _similarity(magnitude(x), magnitude(ref), t)
    return float(gms.std(unbiased=False))

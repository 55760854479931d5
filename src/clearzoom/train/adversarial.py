"""The pieces of perceptual training (the flagship issue's crisp model): a discriminator and the
losses that need no downloaded network.

* :class:`UNetDiscriminator`: Real-ESRGAN's U-Net discriminator with spectral normalisation (Wang
  et al., "Real-ESRGAN", ICCV Workshops 2021, section 3.3), written here from the paper's
  description: three strided downsampling convolutions, three upsampling ones with skip
  connections, two more convolutions, and a realness score *per pixel*, so texture is judged
  where it is. It can also return its intermediate feature maps, for feature matching.
* :func:`generator_adversarial_loss` and :func:`discriminator_loss`: the vanilla GAN objective
  (binary cross-entropy on logits), as Real-ESRGAN trains with.
* :func:`feature_matching_loss`: L1 between the discriminator's features of the output and of the
  ground truth (Wang et al., pix2pixHD, CVPR 2018): a perceptual loss from a network trained here,
  in place of the usual VGG loss whose weights would have to be downloaded.
* :func:`frequency_loss`: L1 between the 2-D Fourier spectra, which penalises missing high
  frequencies (softness) that a pixel L1 forgives.
* :func:`cell_phase_loss`: penalises a pattern that repeats with LIIF's latent cells (the grid the
  adversarial terms make LIIF draw): the output's error, and its local contrast against the
  truth's, averaged per sub-cell phase, must not depend on the phase. Ours, not the paper's.

Images are ``(B, 3, H, W)``, in whatever normalisation the model uses; H and W multiples of 8.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import spectral_norm

__all__ = [
    "UNetDiscriminator",
    "cell_phase_loss",
    "discriminator_loss",
    "feature_matching_loss",
    "frequency_loss",
    "generator_adversarial_loss",
]


def _sn_conv(cin: int, cout: int, k: int, stride: int = 1) -> nn.Module:
    """A spectrally normalised convolution: 3x3 keeps the size, 4x4 at stride 2 halves it."""
    return spectral_norm(nn.Conv2d(cin, cout, k, stride, padding=1, bias=False))


class UNetDiscriminator(nn.Module):
    """Per-pixel realness logits of an image. Shape: ``(B, C, H, W) -> (B, 1, H, W)``.

    Args:
        in_channels: image channels.
        width: channels of the first level (64 in Real-ESRGAN); deeper levels have 2x, 4x, 8x.
    """

    def __init__(self, in_channels: int = 3, width: int = 64):
        super().__init__()
        w = width
        self.inp = nn.Conv2d(in_channels, w, 3, padding=1)
        self.down = nn.ModuleList(
            [_sn_conv(w, 2 * w, 4, 2), _sn_conv(2 * w, 4 * w, 4, 2), _sn_conv(4 * w, 8 * w, 4, 2)]
        )
        self.up = nn.ModuleList([_sn_conv(8 * w, 4 * w, 3), _sn_conv(4 * w, 2 * w, 3), _sn_conv(2 * w, w, 3)])
        self.refine = nn.Sequential(
            _sn_conv(w, w, 3), nn.LeakyReLU(0.2, True), _sn_conv(w, w, 3), nn.LeakyReLU(0.2, True)
        )
        self.out = nn.Conv2d(w, 1, 3, padding=1)

    def forward(self, x: torch.Tensor, *, features: bool = False):
        """The logits; with ``features``, also the list of intermediate maps (coarse to fine)."""
        if x.shape[-1] % 8 or x.shape[-2] % 8:
            raise ValueError(
                f"the discriminator needs sides that are multiples of 8, got {tuple(x.shape[-2:])}"
            )
        act = F.leaky_relu
        skips = [act(self.inp(x), 0.2)]
        for conv in self.down:
            skips.append(act(conv(skips[-1]), 0.2))
        h = skips.pop()
        feats = [h]
        for conv in self.up:
            h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)
            h = act(conv(h), 0.2) + skips.pop()
            feats.append(h)
        logits = self.out(self.refine(h))
        return (logits, feats) if features else logits


def generator_adversarial_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """What the generator minimises: the discriminator's cross-entropy for calling it real."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """What the discriminator minimises: real called real, generated called fake (mean of both)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return (real + fake) / 2


def feature_matching_loss(fake_feats: list[torch.Tensor], real_feats: list[torch.Tensor]) -> torch.Tensor:
    """Mean L1 between the discriminator's maps of the output and of the ground truth (the real
    ones are targets: no gradient flows into them)."""
    if len(fake_feats) != len(real_feats):
        raise ValueError("feature lists of different lengths")
    losses = [F.l1_loss(f, r.detach()) for f, r in zip(fake_feats, real_feats, strict=True)]
    return torch.stack(losses).mean()


def frequency_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of the orthonormal 2-D Fourier spectra (complex), per channel."""
    diff = torch.fft.rfft2(pred.float(), norm="ortho") - torch.fft.rfft2(gt.float(), norm="ortho")
    return diff.abs().mean()


def cell_phase_loss(
    pred: torch.Tensor, gt: torch.Tensor, coord: torch.Tensor, lr_hw: tuple[int, int], bins: int = 4
) -> torch.Tensor:
    """How much the output's error depends on where a pixel sits inside its LR cell.

    ``pred``/``gt`` ``(B, 3, S, S)`` images, ``coord`` ``(B, S*S, 2)`` their query centres (LIIF's
    (y, x) in [-1, 1] over the HR extent), ``lr_hw`` the LR input's size. Each pixel falls in one of
    ``bins``² phase bins of its cell; per image, the mean error (output minus truth) and the mean
    excess of local contrast (|output − its 3×3 mean| minus the same of the truth) are taken per
    bin. Natural images have no preferred phase of an arbitrary LR grid, so the loss is the mean
    absolute deviation of those per-bin means from their average over bins: 0 without a grid."""
    b, c = pred.shape[:2]
    size = torch.tensor(lr_hw, dtype=coord.dtype, device=coord.device)
    frac = torch.frac((coord + 1) / 2 * size)  # (B, Q, 2) in [0, 1)
    cells = (frac * bins).long().clamp_(0, bins - 1)
    idx = (cells[..., 0] * bins + cells[..., 1]).unsqueeze(1)  # (B, 1, Q)
    err = (pred - gt).flatten(2)
    excess = (_contrast(pred) - _contrast(gt)).flatten(2)
    values = torch.cat([err, excess], dim=1)  # (B, 2C, Q)
    n = bins * bins
    sums = values.new_zeros(b, 2 * c, n).scatter_add_(2, idx.expand(-1, 2 * c, -1), values)
    counts = values.new_zeros(b, 1, n).scatter_add_(2, idx, torch.ones_like(idx, dtype=values.dtype))
    means = sums / counts.clamp(min=1)
    filled = (counts > 0).to(values.dtype)
    centre = (means * filled).sum(2, keepdim=True) / filled.sum(2, keepdim=True).clamp(min=1)
    return ((means - centre).abs() * filled).sum(2).div(filled.sum(2).clamp(min=1)).mean()


def _contrast(img: torch.Tensor) -> torch.Tensor:
    """|img − its 3×3 box mean|: local contrast, per pixel."""
    return (img - F.avg_pool2d(F.pad(img, (1, 1, 1, 1), mode="replicate"), 3, stride=1)).abs()

"""What LIIF asks of an encoder: a module from an image to a latent grid, with two facts."""

from __future__ import annotations

from torch import nn

__all__ = ["Encoder"]


class Encoder(nn.Module):
    """Base of the encoders LIIF decodes from (EDSR, RDN).

    Attributes:
        out_dim: channels of the latent grid.
        receptive_radius: input pixels on each side that one latent code depends on (what the
            tiled engine's halo must cover for tiles to equal the whole).

    Shape: ``(B, n_colors, H, W) -> (B, out_dim, H, W)``.
    """

    out_dim: int
    receptive_radius: int

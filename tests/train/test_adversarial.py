"""The discriminator and the perceptual losses, on tiny models and real image content."""

import pytest
import torch
from conftest import BENCH

from clearzoom.data.degrade import Blur
from clearzoom.eval.protocol import load_rgb
from clearzoom.train.adversarial import (
    UNetDiscriminator,
    cell_phase_loss,
    discriminator_loss,
    feature_matching_loss,
    frequency_loss,
    generator_adversarial_loss,
)


@pytest.fixture(scope="module")
def crops():
    img = load_rgb(BENCH / "Set14" / "baboon.png")
    sharp = torch.stack(
        [img[:, y : y + 32, x : x + 32] for y, x in ((0, 0), (64, 96), (200, 160), (300, 40))]
    )
    soft = torch.stack([Blur(1.5)(c) for c in sharp])
    return sharp, soft


def test_per_pixel_logits_and_every_parameter_learns(crops):
    torch.manual_seed(0)
    d = UNetDiscriminator(width=8)
    sharp, soft = crops
    logits, feats = d(sharp, features=True)
    assert logits.shape == (4, 1, 32, 32) and [f.shape[1] for f in feats] == [64, 32, 16, 8]
    loss = discriminator_loss(d(sharp), d(soft)) + feature_matching_loss(d(soft, features=True)[1], feats)
    loss.backward()
    for name, p in d.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name
    with pytest.raises(ValueError, match="multiples of 8"):
        d(sharp[..., :30])


def test_the_discriminator_learns_to_tell_sharp_from_soft(crops):
    """Real photos' texture against its blurred version: what a soft upscaler produces."""
    torch.manual_seed(0)
    d = UNetDiscriminator(width=8)
    opt = torch.optim.Adam(d.parameters(), lr=2e-3)
    sharp, soft = crops
    first = None
    for _ in range(40):
        loss = discriminator_loss(d(sharp), d(soft))
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.7 * first
    with torch.no_grad():  # the generator is told its soft output looks fake, its sharp one real
        assert generator_adversarial_loss(d(soft)) > generator_adversarial_loss(d(sharp)) + 0.3


def test_frequency_loss_penalises_softness_that_l1_forgives(crops):
    sharp, soft = crops
    assert frequency_loss(sharp, sharp) == 0
    shifted = (sharp + 0.08).clamp(0, 1)  # an L1 error as large as the blur's, but no detail lost
    l1_soft, l1_shift = (soft - sharp).abs().mean(), (shifted - sharp).abs().mean()
    assert l1_shift >= l1_soft
    assert frequency_loss(soft, sharp) > 5 * frequency_loss(shifted, sharp)


def test_the_cell_phase_loss_sees_a_grid_of_the_lr_cells_and_not_blur_or_noise(crops):
    """A pattern that repeats every LR cell (the crisp pilots' grid, 4 output pixels at x4) costs
    more than twice what blur or noise cost (on 32² baboon crops: 64 pixels a phase), and its
    gradient reaches the output."""
    from clearzoom.coords import make_coord

    sharp, soft = crops
    coord = make_coord((32, 32)).unsqueeze(0).expand(4, -1, -1)
    grid = torch.zeros(1, 1, 32, 32)
    grid[..., ::4, :] = 0.05
    grid[..., :, ::4] += 0.05
    blurred = cell_phase_loss(soft, sharp, coord, (8, 8))
    noisy = cell_phase_loss(sharp + 0.05 * torch.randn_like(sharp), sharp, coord, (8, 8))
    gridded = (soft + grid).requires_grad_(True)
    loss = cell_phase_loss(gridded, sharp, coord, (8, 8))
    assert loss > 2 * max(blurred, noisy)
    loss.backward()
    assert gridded.grad is not None and gridded.grad.abs().sum() > 0
    assert cell_phase_loss(sharp, sharp, coord, (8, 8)) == 0

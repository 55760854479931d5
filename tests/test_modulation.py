"""Instruct-IPT's weight modulation on LIIF (issue 22): zero deltas leave the backbone exact, merged
weights equal the unmerged (functional) form, mixed tasks add, and each delta learns only from its
own task."""

from __future__ import annotations

import pytest
import torch
from conftest import make_tiny
from torch.func import functional_call

from clearzoom.coords import make_cell, make_coord
from clearzoom.instruct.modulation import ModulationSpec, WeightModulation, conv_and_linear_weights


@pytest.fixture()
def setup():
    model = make_tiny(seed=2, skip="bilinear", condition="jpeg")
    net = model.net
    layers = tuple(conv_and_linear_weights(net)[1:4]) + ("imnet.layers.2.weight",)
    mod = WeightModulation(net, ModulationSpec(("jpeg", "noise", "blur"), layers, rank=2), seed=1)
    with torch.no_grad():  # trained-looking deltas: B away from zero
        g = torch.Generator().manual_seed(5)
        for p in mod.b.values():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    inp = torch.rand(1, 3, 12, 14, generator=torch.Generator().manual_seed(0)) * 2 - 1
    coord = make_coord((30, 33)).unsqueeze(0)
    cell = make_cell((30, 33), coord.shape[1]).unsqueeze(0)
    return net, mod, (inp, coord, cell, 0.4)


def test_zero_b_is_the_backbone(setup):
    net, _, args = setup
    fresh = WeightModulation(net, ModulationSpec(("jpeg", "noise"), ("encoder.head.0.weight",), rank=3))
    with torch.no_grad():
        ref = net(*args)
        got = functional_call(net, fresh.weights(net, {"jpeg": 1.0, "noise": 0.5}), args)
    assert torch.equal(ref, got)


def test_merged_equals_unmerged_and_mixes_add(setup):
    net, mod, args = setup
    with torch.no_grad():
        for strengths in (
            {"noise": 1.0},
            {"jpeg": 0.5, "blur": 1.0},
            {"jpeg": 0.3, "noise": 0.7, "blur": 0.2},
        ):
            unmerged = functional_call(net, mod.weights(net, strengths), args)
            merged = mod.merged(net, strengths)(*args)
            assert (unmerged - merged).abs().max() < 1e-5
            assert (merged - net(*args)).abs().max() > 1e-3  # the deltas do something
        d_mix = mod.delta("imnet.layers.2.weight", {"jpeg": 0.5, "blur": 1.0})
        d_sum = mod.delta("imnet.layers.2.weight", {"jpeg": 0.5}) + mod.delta(
            "imnet.layers.2.weight", {"blur": 1.0}
        )
        assert torch.allclose(d_mix, d_sum)
    assert mod.merged(net, {"noise": 1.0}) is not net and all(p.grad is None for p in net.parameters())


def test_each_delta_learns_from_its_own_task_only(setup):
    net, mod, args = setup
    out = functional_call(net, mod.weights(net, {"noise": 1.0}), args)
    out.square().mean().backward()
    for key, p in list(mod.a.items()) + list(mod.b.items()):
        has_grad = p.grad is not None and p.grad.abs().sum() > 0
        assert has_grad == key.startswith("noise:"), key
    assert net.encoder.head[0].weight.grad is not None  # the backbone learns from every task


def test_bad_specs_are_refused(setup):
    net, mod, _ = setup
    with pytest.raises(ValueError, match="not conv/linear"):
        WeightModulation(net, ModulationSpec(("jpeg",), ("encoder.head.0.bias",), rank=2))
    with pytest.raises(ValueError, match="unknown task"):
        mod.delta("imnet.layers.2.weight", {"rain": 1.0})
    assert mod.extra_parameters("jpeg") == sum(
        2 * (s[0] + torch.Size(s[1:]).numel()) for s in mod.shapes.values()
    )

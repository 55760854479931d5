"""Warm starts (model.init_from): a deeper encoder computes what its source did, then trains."""

import copy

import pytest
import torch
from conftest import make_tiny, tiny_spec

from clearzoom.errors import ConfigError
from clearzoom.models import make
from clearzoom.train.warm_start import warm_start


def _deeper(n_resblocks: int, **liif_args):
    spec = copy.deepcopy(tiny_spec(**liif_args))
    spec["args"]["encoder_spec"]["args"]["n_resblocks"] = n_resblocks
    torch.manual_seed(5)  # other random weights than the source's everywhere
    return make(spec)


@pytest.mark.parametrize("liif_args", [{}, {"skip": "bilinear", "condition": "jpeg"}])
def test_a_grown_encoder_starts_as_its_source(liif_args):
    source = make_tiny(seed=2, **liif_args).net
    grown = _deeper(5, **liif_args)
    assert warm_start(grown, source.state_dict()) == 3
    grown.eval()
    torch.manual_seed(0)
    inp = torch.rand(1, 3, 12, 10) - 0.5
    coord = torch.rand(1, 50, 2) * 2 - 1
    cell = torch.full((1, 50, 2), 2 / 40)
    with torch.no_grad():
        strength = 0.5 if liif_args else None
        expect = source(inp, coord, cell, strength)
        got = grown(inp, coord, cell, strength)
        assert torch.allclose(got, expect, atol=1e-6)
        # the new blocks are identities now, but they are there to learn: they get gradients
    grown.train()
    grown(inp, coord, cell, strength).abs().sum().backward()
    new_block = grown.encoder.body[4].body
    assert new_block[0].weight.grad is not None and new_block[2].weight.grad.abs().sum() > 0


def test_an_incompatible_source_is_refused_naming_the_weight():
    source = make_tiny(seed=2).net.state_dict()
    with pytest.raises(ConfigError, match="encoder blocks"):
        warm_start(_deeper(1), source)
    wider = copy.deepcopy(tiny_spec())
    wider["args"]["imnet_spec"]["args"]["hidden_list"] = [32, 16]
    with pytest.raises(ConfigError, match=r"imnet\.layers\.0\.weight is \(16, 76\), the spec's \(32, 76\)"):
        warm_start(make(wider), source)

import pytest
import torch
from conftest import OFFICIAL, make_tiny

from benchmarks.reference_liif import reference_query_rgb
from clearzoom.errors import UnknownModelError
from clearzoom.models import make, register, registered_names


def test_registry_uses_liif_spec_names():
    assert {"liif", "edsr-baseline", "edsr", "rdn", "mlp"} <= set(registered_names())
    with pytest.raises(ValueError, match="already registered"):
        register("mlp")(object)
    with pytest.raises(UnknownModelError, match="unknown model spec name 'metasr'"):
        make({"name": "metasr", "args": {}})
    with pytest.raises(UnknownModelError, match="bad arguments"):
        make({"name": "edsr-baseline", "args": {"n_blocks": 3}})


def test_presets_have_paper_sizes():
    base = make({"name": "edsr-baseline", "args": {"no_upsampling": True}})
    n = sum(p.numel() for p in base.parameters())
    # the official checkpoint's encoder, less its unused mean-shift entries; the paper says 1.22 M
    sd = torch.load(OFFICIAL / "edsr-baseline-liif-random-seed0.pth", weights_only=True)["model"]["sd"]
    assert n == sum(v.numel() for k, v in sd.items() if k.startswith("encoder.") and "_mean" not in k)
    assert round(n / 1e6, 2) == 1.22
    edsr = make({"name": "edsr", "args": {"no_upsampling": True}})
    assert (len(edsr.body) - 1, edsr.out_dim, edsr.body[0].res_scale) == (32, 256, 0.1)
    rdn = make({"name": "rdn", "args": {"no_upsampling": True}})
    assert rdn(torch.rand(1, 3, 9, 7)).shape == (1, 64, 9, 7)


@pytest.mark.parametrize(
    "switches",
    [
        {},
        {"feat_unfold": False},
        {"local_ensemble": False},
        {"cell_decode": False},
        {"skip": "bilinear"},
        {"feat_unfold": False, "local_ensemble": False, "cell_decode": False},
    ],
)
def test_fast_decoding_equals_official_query_rgb(switches):
    """The projected first layer gives the official algorithm's numbers for every switch."""
    model = make_tiny(**switches)
    torch.manual_seed(1)
    inp = torch.rand(2, 3, 11, 14) * 2 - 1
    coord = torch.rand(2, 300, 2) * 2 - 1
    cell = torch.full((2, 300, 2), 2 / 40)
    with torch.no_grad():
        feat = model.net.gen_feat(inp)
        ours = model.net.query_rgb(feat, coord, cell, inp=inp)
        ref = reference_query_rgb(model.net, feat, coord, cell, inp)
    assert ours.shape == (2, 300, 3)
    assert (ours - ref).abs().max() < 1e-5
    assert ref.std() > 0.05  # the amplified model really varies


def test_every_parameter_gets_a_gradient():
    model = make_tiny(skip="bilinear")
    net = model.net.train()
    inp = torch.rand(2, 3, 12, 12) * 2 - 1
    coord = torch.rand(2, 64, 2) * 2 - 1
    out = net(inp, coord, torch.full((2, 64, 2), 0.05))
    out.abs().mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name
    net.eval()


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "edsr-baseline", "args": {"n_resblocks": 2, "n_feats": 8}},
        {"name": "rdn", "args": {"G0": 8, "RDNconfig": "A"}},
    ],
)
def test_receptive_radius_is_exact(spec):
    """Changing one input pixel changes features exactly within the declared radius."""
    torch.manual_seed(0)
    enc = make(spec).eval()
    if spec["name"] == "rdn":  # 20 blocks x 6 layers is large; shrink the test image accordingly
        enc.RDBs = enc.RDBs[:2]
        enc.GFF[0] = torch.nn.Conv2d(2 * 8, 8, 1)
        enc.receptive_radius = 1 * (2 + 2 * 6 + 1)
    enc = enc.double()  # in fp32, the tiny effect at the border can round away on some CPUs
    r = enc.receptive_radius
    n = 2 * r + 9
    x = torch.rand(1, 3, n, n, dtype=torch.float64)
    y = x.clone()
    y[0, :, n // 2, n // 2] += 1
    with torch.no_grad():
        diff = (enc(x) - enc(y)).abs().sum(1)[0]
    rows = torch.nonzero(diff.sum(1) > 0).flatten()
    assert rows.min() == n // 2 - r and rows.max() == n // 2 + r

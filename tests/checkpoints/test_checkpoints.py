import pickle

import numpy as np
import pytest
import torch
from conftest import OFFICIAL

from clearzoom.checkpoints import convert_checkpoint, load_model, read_native
from clearzoom.checkpoints.official import convert_official_state_dict, read_official
from clearzoom.coords import make_cell, make_coord
from clearzoom.errors import CheckpointError, UnknownModelError

CKPT = OFFICIAL / "edsr-baseline-liif-random-seed0.pth"


def test_official_full_image_matches_official_code(official_model, official_input):
    """expected_97x131.npy was computed by yinboc/liif's demo.py (fp32, unclamped)."""
    net, norm = official_model.net, official_model.normalization
    inp = ((official_input - norm.inp_sub) / norm.inp_div)[None]
    with torch.no_grad():
        coord = make_coord((97, 131))[None]
        pred = net.query_rgb(net.gen_feat(inp), coord, make_cell((97, 131), coord.shape[1])[None])
    out = (pred * norm.gt_div + norm.gt_sub)[0].t().reshape(3, 97, 131).numpy()
    expected = np.load(OFFICIAL / "expected_97x131.npy")
    assert expected.std() > 0.1
    assert np.abs(out - expected).max() < 1e-4


def test_official_raw_queries_match(official_model, official_input):
    net = official_model.net
    coord = torch.from_numpy(np.load(OFFICIAL / "query_coord.npy").copy())
    cell = torch.from_numpy(np.load(OFFICIAL / "query_cell.npy").copy())
    with torch.no_grad():
        pred = net.query_rgb(net.gen_feat(((official_input - 0.5) / 0.5)[None]), coord, cell)
    assert np.abs(pred.numpy() - np.load(OFFICIAL / "expected_query.npy")).max() < 1e-4


def test_official_conversion_drops_only_the_unused_mean_shift(official_model):
    spec, sd = read_official(CKPT)
    assert spec["name"] == "liif" and any("sub_mean" in k for k in sd)
    out = convert_official_state_dict(sd, official_model.net.state_dict())
    assert set(sd) - set(out) == {k for k in sd if k.startswith(("encoder.sub_mean", "encoder.add_mean"))}
    bad = dict(sd)
    bad["imnet.layers.0.weight"] = bad["imnet.layers.0.weight"][:, :-1]
    with pytest.raises(CheckpointError, match=r"imnet.layers.0.weight has shape \(256, 579\)"):
        convert_official_state_dict(bad, official_model.net.state_dict())


def test_convert_round_trip_gives_identical_model(tmp_path, official_model, official_input):
    dst = convert_checkpoint(CKPT, tmp_path / "m.safetensors")
    config, sd = read_native(dst)
    assert config["normalization"] == {"inp_sub": 0.5, "inp_div": 0.5, "gt_sub": 0.5, "gt_div": 0.5}
    assert config["provenance"]["converted_from"] == CKPT.name
    m2 = load_model(dst)
    for k, v in official_model.net.state_dict().items():
        assert torch.equal(v, m2.net.state_dict()[k]), k


def _save(path, obj):
    torch.save(obj, path)
    return path


class _Evil:
    def __reduce__(self):
        return (print, ("this ran code",))


@pytest.mark.filterwarnings("error")  # one clear error each, no library noise beside it
def test_unsafe_and_wrong_files_are_refused(tmp_path):
    text = tmp_path / "notes.pth"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_model(text)
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as f:
        pickle.dump({"model": _Evil()}, f)
    with pytest.raises(CheckpointError, match="needs code to unpickle"):
        load_model(evil)
    not_liif = _save(tmp_path / "plain.pth", {"state_dict": {"w": torch.zeros(2)}})
    with pytest.raises(CheckpointError, match="not a LIIF checkpoint"):
        load_model(not_liif)
    spec, sd = read_official(CKPT)
    unknown = _save(tmp_path / "metasr.pth", {"model": {"name": "metasr", "args": {}, "sd": sd}})
    with pytest.raises(UnknownModelError, match="'metasr'"):
        load_model(unknown)
    with pytest.raises(UnknownModelError, match="neither a model name"):
        load_model(tmp_path / "missing.pth")
    st = tmp_path / "bare.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(st))
    with pytest.raises(CheckpointError, match="without a clearzoom model config"):
        load_model(st)


def test_default_model_ships_in_the_package():
    m = load_model()
    assert m.name == "clearzoom-jpeg" and m.spec["args"]["condition"] == "jpeg"
    assert 0.2e6 < m.num_parameters < 0.3e6
    assert m.provenance["train_cpu_seconds"] >= 10 * 3600  # the models issue's budget
    twin = load_model("clearzoom-clean")
    assert twin.spec["args"].get("condition") is None and twin.num_parameters < m.num_parameters


def _crafted(tmp_path, name, edit):
    """The default model's weights with its config edited by ``edit(config)``."""
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    from clearzoom.models.pretrained import DEFAULT_MODEL, PRETRAINED

    with safe_open(str(PRETRAINED[DEFAULT_MODEL].path), "pt") as f:
        config = json.loads(f.metadata()["clearzoom"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    edit(config)
    path = tmp_path / name
    save_file(tensors, str(path), metadata={"clearzoom": json.dumps(config)})
    return path


def _encoder_args(config):
    return config["spec"]["args"]["encoder_spec"]["args"]


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        (lambda c: _encoder_args(c).update(n_feats=-3), UnknownModelError, "n_feats = -3 is outside"),
        (lambda c: _encoder_args(c).update(n_resblocks=10**7), UnknownModelError, "outside 0..4096"),
        (
            lambda c: _encoder_args(c).update(n_feats=64),
            CheckpointError,
            r"it needs [\d,]+ numbers, the file has",
        ),
        (lambda c: _encoder_args(c).update(n_feats="x"), UnknownModelError, "bad arguments"),
        (lambda c: _encoder_args(c).update(res_scale=float("nan")), UnknownModelError, "not a finite"),
        (lambda c: c.pop("normalization"), CheckpointError, "needs a 'spec' and a 'normalization'"),
        (lambda c: c.update(spec=[1]), CheckpointError, "needs a 'spec'"),
        (lambda c: c["normalization"].update(inp_sub="x"), CheckpointError, "bad normalization"),
    ],
)
def test_crafted_model_files_are_refused_before_any_allocation(tmp_path, edit, error, message):
    path = _crafted(tmp_path, "crafted.safetensors", edit)
    with pytest.raises(error, match=message) as caught:
        load_model(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_a_text_file_named_safetensors_is_refused(tmp_path):
    for name, content in (("notes.safetensors", b"hello"), ("torn.safetensors", b"\x10" + b"\0" * 7 + b"{")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CheckpointError, match="not a readable"):
            load_model(path)

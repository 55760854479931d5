import subprocess
import sys

import clearzoom


def test_public_names_are_curated():
    assert clearzoom.__all__ == sorted(clearzoom.__all__)
    assert set(clearzoom.__all__) == {
        "CheckpointError",
        "ClearZoomError",
        "InvalidInputError",
        "InvalidTargetError",
        "Model",
        "UnknownModelError",
        "__version__",
        "convert_checkpoint",
        "list_models",
        "load_model",
        "parse_prompt",
        "upscale",
        "upscale_file",
    }
    for name in clearzoom.__all__:
        assert getattr(clearzoom, name) is not None


def test_import_is_light():
    code = "import sys, clearzoom; print('torch' in sys.modules, 'PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

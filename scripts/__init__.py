"""The project's maintained developer tools, run from the repository root as modules::

    python -m scripts.regen            # every generated file (see CONTRIBUTING.md)
    python -m scripts.pack_gpu_data    # training crops for a lent GPU (docs/training.md)

plus ``setup.sh`` (the one setup command) and ``gpu_train_large.sh`` (the GPU route).
"""

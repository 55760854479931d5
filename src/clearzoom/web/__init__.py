"""The local web app (``clearzoom serve``): upload, restore, compare, and deep zoom to x32.

Needs the ``web`` extra (FastAPI, uvicorn, python-multipart); the deep-zoom viewer is
OpenSeadragon from the npm registry (``npm ci`` in the repository, run by scripts/setup.sh).
"""

from .app import create_app
from .service import WebConfig

__all__ = ["WebConfig", "create_app"]

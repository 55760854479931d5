"""The pictures the docs show: the README figure, the web app's screenshot, training curves.

python -m scripts.regen --only figure,screenshot,curves
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw, PngImagePlugin

import clearzoom
from clearzoom.models.pretrained import DEFAULT_MODEL

__all__ = ["curves", "readme_figure", "save_png", "web_screenshot"]

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "osprey-small.jpg"
CROP = (35, 8, 115, 68)  # the osprey, in input pixels
SCALE = 4


def save_png(image: Image.Image, path: Path, target: str) -> None:
    """Save ``image`` as PNG with a text chunk naming the command that makes it."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", f"python -m scripts.regen --only {target}")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, optimize=True, pnginfo=info)


def readme_figure(out: Path = ROOT / "docs" / "images" / "example.png") -> Path:
    """The bundled JPEG enlarged x4 three ways (nearest, bicubic, the default model), side by side."""
    lr = Image.open(EXAMPLE).convert("RGB")
    big = clearzoom.upscale(lr, scale=SCALE)
    box = tuple(v * SCALE for v in CROP)
    panels = [
        ("input (nearest)", lr.resize(big.size, Image.Resampling.NEAREST).crop(box)),
        ("bicubic", lr.resize(big.size, Image.Resampling.BICUBIC).crop(box)),
        (DEFAULT_MODEL, big.crop(box)),
    ]
    w, h = panels[0][1].size
    sheet = Image.new("RGB", (3 * w + 20, h + 24), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (label, im) in enumerate(panels):
        sheet.paste(im, (i * (w + 10), 24))
        draw.text((i * (w + 10) + 4, 6), label, fill="black")
    save_png(sheet, out, "figure")
    return out


def curves(root: Path = ROOT / "docs" / "results" / "training") -> list[Path]:
    """Each training run's curves (``curves.png``) from its ``log.jsonl``."""
    from clearzoom.train.curves import plot_curves

    written = []
    for log in sorted(root.glob("*/log.jsonl")):
        records = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
        if any(r.get("kind") == "val" for r in records):  # the first model's log has no curves
            written.append(plot_curves(records, log.parent / "curves.png"))
    return written


def web_screenshot(out: Path = ROOT / "docs" / "images" / "web.png", zoom: float = 3.0) -> Path:
    """The web app (default model) with the bundled example upscaled x4 and zoomed in, as Debian's
    chromium shows it (driven by Playwright, on a free local port)."""
    import uvicorn
    from playwright.sync_api import sync_playwright

    from clearzoom.web import WebConfig, create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(create_app(WebConfig()), host="127.0.0.1", port=port, log_level="warning")
    )
    server = threading.Thread(target=srv.run, daemon=True)
    server.start()
    while not srv.started:
        time.sleep(0.05)
    try:
        shot = _drive_page(sync_playwright, port, zoom)
    finally:
        srv.should_exit = True
        server.join(timeout=30)  # a server torn down mid-request by the interpreter's exit aborts it
    save_png(Image.open(io.BytesIO(shot)), out, "screenshot")
    return out


def _drive_page(sync_playwright, port: int, zoom: float) -> bytes:
    """The page driven to the zoomed-in deep-zoom view, as PNG bytes (no file left behind)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 1500})
        page.goto(f"http://127.0.0.1:{port}/")
        page.click("#example")
        page.wait_for_selector("#analysis:not([hidden])")
        page.click("#go")
        page.wait_for_function("document.getElementById('after').naturalWidth > 0", timeout=120_000)
        page.wait_for_function("window.clearzoomViewer && clearzoomViewer.world.getItemCount() > 0")
        page.evaluate(f"""() => {{ const v = clearzoomViewer.viewport;
            v.zoomTo({zoom}, new OpenSeadragon.Point(0.30, 0.28), true); }}""")
        page.wait_for_function("clearzoomViewer.world.getItemAt(0).getFullyLoaded()", timeout=120_000)
        page.wait_for_timeout(500)
        shot = page.screenshot(full_page=True)
        browser.close()
    return shot

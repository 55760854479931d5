"""The README's screenshot of the web app: the bundled example, upscaled x4, zoomed in.

    .venv/bin/python scripts/make_web_screenshot.py --out docs/images/web.png

Starts the app (default model) on a free local port, drives Debian's chromium with Playwright.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
from clearzoom.web import WebConfig, create_app  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "docs/images/web.png"))
    ap.add_argument("--zoom", type=float, default=3.0, help="viewer zoom (1 = whole image)")
    args = ap.parse_args()
    app = create_app(WebConfig())
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    server = threading.Thread(target=srv.run, daemon=True)
    server.start()
    while not srv.started:
        time.sleep(0.05)
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
            v.zoomTo({args.zoom}, new OpenSeadragon.Point(0.30, 0.28), true); }}""")
        page.wait_for_function("clearzoomViewer.world.getItemAt(0).getFullyLoaded()", timeout=120_000)
        page.wait_for_timeout(500)
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    srv.should_exit = True
    server.join(timeout=30)  # a server torn down mid-request by the interpreter's exit aborts it
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""`framechain serve` in a real browser: headless Chromium (Debian's `chromium`) opens the page,
the picture moves, and a slider moved with the mouse changes the server's state.

Chromium is driven through its DevTools protocol over a websocket (aiohttp's client), so no
browser download and no extra package. Skipped, with the reason, where chromium is missing."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import threading

import cv2
import numpy as np
import pytest

CHROMIUM = next((path for path in map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))
                 if path), None)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (Debian: apt-get install chromium); "
                             "the real-browser test of `framechain serve` needs it")


class DevTools:
    """A minimal DevTools-protocol client: `await call(method, **params)` -> result."""

    def __init__(self, websocket):
        self.websocket = websocket
        self._next_id = 0

    async def call(self, method: str, **params):
        self._next_id += 1
        message_id = self._next_id
        await self.websocket.send_json({"id": message_id, "method": method, "params": params})

        async def reply():
            while True:  # events in between are not needed here
                message = json.loads((await self.websocket.receive()).data)
                if message.get("id") == message_id:
                    return message

        message = await asyncio.wait_for(reply(), 20)
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message["result"]

    async def evaluate(self, expression: str):
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                                 awaitPromise=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, *, timeout_s: float = 20.0):
        async def until_true():
            while not await self.evaluate(expression):
                await asyncio.sleep(0.1)

        await asyncio.wait_for(until_true(), timeout_s)


def _start_chromium(profile) -> tuple[subprocess.Popen, str]:
    """Start headless Chromium on a free DevTools port; returns (process, browser websocket URL)."""
    process = subprocess.Popen(
        [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", "--window-size=800,700", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    found: list[str] = []
    ready = threading.Event()

    def read():  # Chromium prints "DevTools listening on ws://..." once it accepts connections
        for line in process.stderr:
            if line.startswith("DevTools listening on ") and not found:
                found.append(line.split(" on ", 1)[1].strip())
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60) or not found:
        process.kill()
        pytest.fail("chromium did not open its DevTools port in 60 s")
    return process, found[0]


def _picture(png_base64: str) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(base64.b64decode(png_base64), np.uint8), cv2.IMREAD_COLOR)


def test_page_in_headless_chromium_moves_and_its_slider_changes_state(live_server, tmp_path):
    import aiohttp

    process, browser_url = _start_chromium(tmp_path / "profile")
    screenshots = os.environ.get("FRAMECHAIN_SCREENSHOTS")  # a folder to keep the screenshots in

    async def drive():
        async with aiohttp.ClientSession() as session:
            port = browser_url.split("/")[2]
            async with session.get(f"http://{port}/json/list") as reply:
                page = next(target for target in await reply.json() if target["type"] == "page")
            async with session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0) as websocket:
                tools = DevTools(websocket)
                await tools.call("Page.navigate", url=live_server.url)
                # the <img> has decoded at least one JPEG of the stream
                await tools.wait_for("document.getElementById('picture')?.naturalWidth > 0")
                box = await tools.evaluate(
                    "(() => { const r = document.getElementById('picture').getBoundingClientRect();"
                    " return [r.x, r.y, r.width, r.height]; })()")
                clip = dict(zip(("x", "y", "width", "height"), box), scale=1)
                first = (await tools.call("Page.captureScreenshot", format="png", clip=clip))["data"]
                await asyncio.sleep(1.0)  # the "two screenshots a second apart"
                second = (await tools.call("Page.captureScreenshot", format="png"))["data"]
                # a click at 90% of the speed slider: log scale 0.1..4, so about 10^0.44 = 2.8x
                slider = await tools.evaluate(
                    "(() => { const r = document.getElementById('speed').getBoundingClientRect();"
                    " return [r.x, r.y, r.width, r.height]; })()")
                x, y = slider[0] + 0.9 * slider[2], slider[1] + slider[3] / 2
                for kind in ("mousePressed", "mouseReleased"):
                    await tools.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                                     clickCount=1)
                # the page POSTs /control on the slider's input event
                await tools.wait_for("fetch('/state').then(r => r.json()).then(s => s.speed !== 1)",
                                     timeout_s=10)
                return first, second, box

    try:
        first_png, second_png, box = asyncio.run(drive())
    finally:
        process.terminate()
        process.wait(20)
    first = _picture(first_png)
    x, y, width, height = (round(v) for v in box)
    second = _picture(second_png)[y:y + height, x:x + width]  # the same picture area
    if screenshots:
        cv2.imwrite(os.path.join(screenshots, "first.png"), first)
        cv2.imwrite(os.path.join(screenshots, "page.png"), _picture(second_png))
    assert first.shape[:2] == second.shape[:2] and min(first.shape[:2]) > 50
    assert np.abs(first.astype(int) - second.astype(int)).mean() > 5  # a second later, another frame
    state = live_server.state()
    assert 2.0 < state["speed"] <= 4.0, state
    assert state["variety"] == 1.0 and state["range"] is None  # the other controls kept their values

"""`framechain serve`: one live video texture streamed to every browser (the one module importing aiohttp).

Routes:
    GET  /                 a self-contained page: the stream, speed/variety sliders, a range control
    GET  /stream.mjpg      multipart/x-mixed-replace JPEG (an <img> plays it)
    GET  /hls/index.m3u8   the same as HLS: H.264 MPEG-TS segments (PyAV), a sliding window on disk
    POST /control          {"speed": s, "variety": v, "range": [a, b] | null}, any of them; 400 on bad input
    GET  /state            {"frame", "jumps", "fps", "clients", ...}

How it holds up unattended: one `StreamEngine` (a `Playback` over the shared texture and a
compositor) is driven by one clock loop. Each tick advances play by whole frame ticks of the
server's clock (time is passed in; the engine never reads a clock), composites, resizes and
JPEG-encodes the frame once on a worker thread, and publishes it as the *latest frame*. Each
MJPEG client sends the latest frame newer than the one it sent last: a slow client skips frames
(it never queues them), a client that stops reading blocks only its own handler (and is dropped
after `write_timeout_s`), so memory is bounded by one frame per client plus socket buffers. The
HLS encoder runs on its own thread behind a small bounded queue (full: that frame is skipped in
the HLS stream and shows as a held picture), so it never stalls the engine either.

Threads: the event loop owns the Playback (controls and ticks happen there, so no locks); the
render worker owns the compositor; the HLS thread owns the PyAV encoder.
"""
from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import errno
import json
import math
import queue
import shutil
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from aiohttp import web

from engine.playback import Playback, PlaybackConfig
from engine.texture import VideoTexture
from precompute.errors import ConfigError

__all__ = ["ServeConfig", "StreamEngine", "StreamServer", "ControlError", "parse_control", "serve_forever",
           "SPEED_RANGE", "VARIETY_RANGE"]

SPEED_RANGE = (0.1, 4.0)  # the player's slider range (README "Playing a clip")
VARIETY_RANGE = (0.1, 10.0)
_BOUNDARY = "framechainframe"


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    """How the server runs (the playback's own settings are in PlaybackConfig)."""

    host: str = "127.0.0.1"  # loopback: only this machine; "0.0.0.0" listens on every interface
    port: int = 8080  # 0 picks a free port (printed on start)
    fps: float | None = None  # stream frame rate; None: the clip's
    jpeg_quality: int = 80  # OpenCV JPEG quality 0..100: lower is smaller and blockier
    hls: bool = True  # also encode the HLS stream (one H.264 encode per frame, ~2 ms at 640x360)
    hls_segment_s: float = 1.0  # segment length: shorter cuts HLS latency, costs more requests
    hls_window_segments: int = 6  # segments in the playlist (older ones are deleted from disk)
    hls_queue_frames: int = 8  # frames waiting for the H.264 encoder; beyond, frames skip HLS
    write_timeout_s: float = 30.0  # a client whose socket accepts nothing for this long is dropped
    timing_window: int = 2048  # frame timings kept for the percentiles in /state (bounded memory)

    def __post_init__(self):
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"--port must be in 0..65535 (0 picks a free port), got {self.port}")
        if self.fps is not None and not (math.isfinite(self.fps) and 0 < self.fps <= 120):
            raise ConfigError(f"--fps must be in (0, 120], got {self.fps}")
        if not 0 <= self.jpeg_quality <= 100:
            raise ConfigError(f"jpeg_quality must be in 0..100, got {self.jpeg_quality}")


class ControlError(ConfigError):
    """A /control request the server refuses (answered with 400 and this message)."""


def parse_control(payload, *, n_frames: int) -> dict:
    """Check a /control body. Returns {"speed"?: float, "variety"?: float, "range"?: (a, b) | None}.

    Raises ControlError with a message naming the field, what came and what is allowed.
    """
    if not isinstance(payload, dict):
        raise ControlError(f'the body must be a JSON object like {{"speed": 1.0, "variety": 1.0, '
                           f'"range": [0, {n_frames}]}}, got {type(payload).__name__}')
    unknown = sorted(set(payload) - {"speed", "variety", "range"})
    if unknown:
        raise ControlError(f"unknown field {unknown[0]!r}; the fields are speed, variety and range")
    if not payload:
        raise ControlError("give at least one of speed, variety and range")
    changes = {}
    for name, (low, high) in (("speed", SPEED_RANGE), ("variety", VARIETY_RANGE)):
        if name in payload:
            value = payload[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not low <= value <= high:
                raise ControlError(f"{name} must be a number in {low:g}..{high:g}, got {json.dumps(value)}")
            changes[name] = float(value)
    if "range" in payload:
        value = payload["range"]
        if value is None:
            changes["range"] = None
        else:
            if not (isinstance(value, list) and len(value) == 2
                    and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                    and 0 <= value[0] < value[1] <= n_frames):
                raise ControlError(f"range must be [start, stop] with whole frames 0 <= start < stop <= "
                                   f"{n_frames} (stop exclusive), or null for the whole clip, "
                                   f"got {json.dumps(value)}")
            changes["range"] = (value[0], value[1])
    return changes


class StreamEngine:
    """The played texture at the stream's size: `advance(dt_s)` on the owner's thread, then
    `render(blend)` -> (H, W, 3) uint8 RGB on any one thread (it owns the compositor's buffers)."""

    def __init__(self, texture: VideoTexture, *, compositor, playback: PlaybackConfig = PlaybackConfig(),
                 size: tuple[int, int] | None = None):
        self.texture = texture
        self.playback = Playback(texture, playback)
        self.compositor = compositor
        height, width = texture.frames.shape[1:3]
        self.source_size = (width, height)
        self.size = tuple(int(v) for v in size) if size is not None else (width, height)
        if len(self.size) != 2 or min(self.size) < 2:
            raise ConfigError(f"--size must be WxH with sides of at least 2 px, got {size}")
        self._interpolation = (cv2.INTER_AREA if self.size[0] * self.size[1] < width * height
                               else cv2.INTER_LINEAR)

    def advance(self, dt_s: float):
        """Move play on by `dt_s` seconds; returns (blend, frame index, jumps so far)."""
        self.playback.update(dt_s)
        return self.playback.current_blend(), self.playback.current_frame, self.playback.jumps

    def control(self, changes: dict) -> None:
        """Apply checked changes (parse_control's output)."""
        if "speed" in changes:
            self.playback.set_speed(changes["speed"])
        if "variety" in changes:
            self.playback.set_variety(changes["variety"])
        if "range" in changes:
            self.playback.set_frame_range(changes["range"])

    def warm_up(self) -> None:
        """Render one two-frame blend, so the compositor's compiled kernels are loaded before the
        clock starts (the first call would otherwise cost one late frame)."""
        self.render([(0, 0.5), (1, 0.5)])

    def render(self, blend) -> np.ndarray:
        """The frame for `blend` at `size`: a new (H, W, 3) uint8 array the caller may keep."""
        frame = self.compositor.compose(blend)  # a store view or the compositor's own buffer
        if self.size == self.source_size:
            return np.array(frame)  # a copy: the buffer is overwritten by the next compose
        return cv2.resize(frame, self.size, interpolation=self._interpolation)


def _percentile(values, q: float) -> float | None:
    if not values:
        return None
    return round(float(np.percentile(np.fromiter(values, float), q)), 3)


class _HlsThread:
    """The H.264 encoder on its own thread behind a bounded queue (see the module comment)."""

    def __init__(self, folder: Path, *, fps: float, size, config: ServeConfig):
        from precompute.video_io import HlsWriter

        # yuv420p needs even sides; an odd side loses its last row or column in HLS only
        self._even = (size[0] - size[0] % 2, size[1] - size[1] % 2)
        self.writer = HlsWriter(folder, fps=fps, size=self._even, segment_s=config.hls_segment_s,
                                window_segments=config.hls_window_segments)
        self._queue: queue.Queue = queue.Queue(maxsize=config.hls_queue_frames)
        self.skipped_frames = 0
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="framechain-hls", daemon=True)
        self._thread.start()

    def put(self, frame: np.ndarray, tick: int) -> None:
        try:
            self._queue.put_nowait((frame, tick))
        except queue.Full:
            self.skipped_frames += 1

    def _run(self) -> None:
        width, height = self._even
        while True:
            item = self._queue.get()
            if item is None:
                break
            frame, tick = item
            if self.error is not None:
                continue
            try:
                self.writer.write(frame[:height, :width], pts=tick)
            except Exception as error:  # noqa: BLE001 - said in /state and on stderr; MJPEG goes on
                self.error = f"HLS encoding stopped: {error}"
                print(f"framechain: {self.error}", flush=True)

    def close(self) -> None:
        self._queue.put(None)  # blocks only while the encoder drains at most hls_queue_frames
        self._thread.join(timeout=10)
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - the stream is ending; its last segment may be lost
            pass


class StreamServer:
    """The aiohttp application around one StreamEngine. `await start()`, then `await stop()`."""

    def __init__(self, engine: StreamEngine, config: ServeConfig = ServeConfig()):
        self.engine = engine
        self.config = config
        self.fps = float(config.fps or engine.texture.fps)
        self.url: str | None = None
        self.port: int | None = None
        self._stopping = False
        self._tick = 0  # clock ticks so far (the HLS pts)
        self._seq = 0  # frames published
        self._latest_part: bytes | None = None  # one multipart part: headers + JPEG
        self._latest_frame = 0
        self._jumps = 0
        self._control_version = 0  # bumped by every accepted /control; frames carry it
        self._new_frame: asyncio.Event | None = None
        self._clients = 0
        self.dropped_ticks = 0
        self._engine_ms = collections.deque(maxlen=config.timing_window)
        self._encode_ms = collections.deque(maxlen=config.timing_window)
        self._published_at = collections.deque(maxlen=max(2, int(2 * self.fps) + 1))  # for "fps"
        self._render_pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="framechain-render")
        self._hls: _HlsThread | None = None
        self._hls_folder: Path | None = None
        self._runner: web.AppRunner | None = None
        self._clock_task: asyncio.Task | None = None
        self._client_tasks: set = set()
        self.app = web.Application(client_max_size=64 * 1024)  # control bodies are tiny
        self.app.add_routes([
            web.get("/", self._page), web.get("/stream.mjpg", self._mjpeg),
            web.get("/hls/index.m3u8", self._hls_playlist), web.get("/hls/{name}", self._hls_segment),
            web.post("/control", self._control), web.get("/state", self._state)])

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> str:
        """Listen, start the clock loop; returns the URL. A taken port raises ConfigError."""
        self._new_frame = asyncio.Event()
        await asyncio.get_running_loop().run_in_executor(self._render_pool, self.engine.warm_up)
        if self.config.hls:
            self._hls_folder = Path(tempfile.mkdtemp(prefix="framechain-hls-"))
            self._hls = _HlsThread(self._hls_folder, fps=self.fps, size=self.engine.size, config=self.config)
        # handler_cancellation: a handler whose client went away is cancelled, not left writing
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None,
                                     handler_cancellation=True, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as error:
            await self._cleanup()
            where = f"{self.config.host}:{self.config.port}"
            if error.errno == errno.EADDRINUSE:
                raise ConfigError(f"--port {self.config.port}: {where} is already in use; stop what "
                                  "holds it or pick another port (--port 0 picks a free one)") from None
            raise ConfigError(f"--host {self.config.host}: cannot listen on {where} ({error.strerror or error}); "
                              "give an address of this machine, 127.0.0.1 or 0.0.0.0") from None
        self.port = site._server.sockets[0].getsockname()[1]
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        self.url = f"http://{host}:{self.port}/"
        self._clock_task = asyncio.create_task(self._clock())
        return self.url

    async def stop(self) -> None:
        """Stop the clock, end every stream, close the HLS encoder and remove its folder."""
        if self._stopping:
            return
        self._stopping = True
        if self._new_frame is not None:
            self._new_frame.set()  # wakes every client handler: they see _stopping and end
        if self._clock_task is not None:
            self._clock_task.cancel()
            try:
                await self._clock_task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - serve_forever reports it
                pass
        for task in list(self._client_tasks):  # handlers blocked writing to a stalled client
            task.cancel()
        await self._cleanup()

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._render_pool.shutdown(wait=True)
        if self._hls is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._hls.close)
            self._hls = None
        if self._hls_folder is not None:
            shutil.rmtree(self._hls_folder, ignore_errors=True)

    # ------------------------------------------------------------------ the clock loop
    async def _clock(self) -> None:
        loop = asyncio.get_running_loop()
        period_s = 1.0 / self.fps
        due_s = loop.time()
        while not self._stopping:
            now_s = loop.time()
            if now_s < due_s:
                await asyncio.sleep(due_s - now_s)
                now_s = loop.time()
            ticks = int((now_s - due_s) / period_s) + 1  # ticks whose time has come (>= 1)
            # late (a stall, a busy core): skip to now rather than burst out the missed frames
            self.dropped_ticks += ticks - 1
            # play time follows the clock whole ticks at a time, however many were skipped
            started = time.perf_counter()
            blend, frame_index, jumps = self.engine.advance(ticks * period_s)
            chain_ms = (time.perf_counter() - started) * 1e3
            tick = self._tick + ticks - 1
            self._tick += ticks
            due_s += ticks * period_s
            version = self._control_version
            try:
                frame, render_ms, part, encode_ms = await loop.run_in_executor(
                    self._render_pool, self._render_encode, blend, frame_index, version)
            except RuntimeError:  # the pool is shut down: we are stopping
                return
            self._engine_ms.append(chain_ms + render_ms)
            self._encode_ms.append(encode_ms)
            if self._hls is not None:
                self._hls.put(frame, tick)
            self._publish(part, frame_index, jumps, loop.time())

    def _render_encode(self, blend, frame_index: int, version: int):
        """On the render thread: composite + resize (engine time), then JPEG + part (encode time)."""
        started = time.perf_counter()
        frame = self.engine.render(blend)  # (H, W, 3) uint8 RGB
        rendered = time.perf_counter()
        ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                                [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality])
        if not ok:
            raise RuntimeError("OpenCV could not encode a JPEG")
        data = jpeg.tobytes()
        # built once per frame: every client writes these same bytes
        part = (f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n"
                f"X-Frame-Index: {frame_index}\r\nX-Control-Version: {version}\r\n\r\n"
                ).encode("ascii") + data + b"\r\n"
        done = time.perf_counter()
        return frame, (rendered - started) * 1e3, part, (done - rendered) * 1e3

    def _publish(self, part: bytes, frame_index: int, jumps: int, now_s: float) -> None:
        self._latest_part = part
        self._latest_frame = frame_index
        self._jumps = jumps
        self._seq += 1
        self._published_at.append(now_s)
        event, self._new_frame = self._new_frame, asyncio.Event()
        event.set()  # wakes every client waiting for a frame newer than its last

    async def next_part(self, last_seq: int):
        """(seq, part) of the latest frame newer than `last_seq`, or None when stopping.
        Frames published while a client was busy writing are skipped, never queued."""
        while self._seq <= last_seq or self._latest_part is None:
            if self._stopping:
                return None
            await self._new_frame.wait()
        if self._stopping:
            return None
        return self._seq, self._latest_part

    # ------------------------------------------------------------------ handlers
    async def _mjpeg(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={
            "Content-Type": f"multipart/x-mixed-replace; boundary={_BOUNDARY}",
            "Cache-Control": "no-store, no-cache", "Pragma": "no-cache", "Connection": "close"})
        await response.prepare(request)
        task = asyncio.current_task()
        self._client_tasks.add(task)
        self._clients += 1
        last_seq = 0
        try:
            while True:
                latest = await self.next_part(last_seq)
                if latest is None:
                    break
                last_seq, part = latest
                # a write blocks only while this client's socket is full (aiohttp drains above
                # 64 KiB); a client that reads nothing for write_timeout_s is let go
                await asyncio.wait_for(response.write(part), self.config.write_timeout_s)
        except asyncio.TimeoutError:
            if request.transport is not None:  # stalled: drop its buffered frames, free the socket
                request.transport.abort()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the client went away, or the server is stopping
        finally:
            self._clients -= 1
            self._client_tasks.discard(task)
        return response

    async def _control(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
        except (ValueError, UnicodeDecodeError):
            return _error(400, 'the body must be JSON, e.g. {"speed": 1.5}')
        try:
            changes = parse_control(payload, n_frames=self.engine.texture.n_frames)
            self.engine.control(changes)
        except ConfigError as error:
            return _error(400, str(error))
        self._control_version += 1
        return web.json_response(self.state())

    def state(self) -> dict:
        """What /state answers: the issue's frame, jumps, fps, clients, then the controls in force
        and the server's own timings (engine = chain + composite + resize, per frame)."""
        config = self.engine.playback.config
        stamps = self._published_at
        measured_fps = ((len(stamps) - 1) / (stamps[-1] - stamps[0])
                        if len(stamps) >= 2 and stamps[-1] > stamps[0] else 0.0)
        return {
            "frame": int(self._latest_frame), "jumps": int(self._jumps), "fps": round(measured_fps, 2),
            "clients": self._clients,
            "speed": config.speed, "variety": config.variety,
            "range": list(config.frame_range) if config.frame_range is not None else None,
            "frames": self.engine.texture.n_frames, "target_fps": self.fps, "size": list(self.engine.size),
            "control_version": self._control_version, "dropped_ticks": self.dropped_ticks,
            "engine_ms_p50": _percentile(self._engine_ms, 50), "engine_ms_p99": _percentile(self._engine_ms, 99),
            "encode_ms_p99": _percentile(self._encode_ms, 99),
            "hls": None if self._hls is None else {
                "skipped_frames": self._hls.skipped_frames, "error": self._hls.error},
        }

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state(), headers={"Cache-Control": "no-store"})

    async def _hls_playlist(self, request: web.Request) -> web.StreamResponse:
        if self._hls_folder is None:
            return _error(404, "HLS is off on this server")
        path = self._hls_folder / "index.m3u8"
        try:
            body = path.read_bytes()  # small, and replaced by rename: never half written
        except FileNotFoundError:
            return _error(503, "the first HLS segment is still being encoded; retry in a second",
                          headers={"Retry-After": "1"})
        return web.Response(body=body, content_type="application/vnd.apple.mpegurl",
                            headers={"Cache-Control": "no-cache"})

    async def _hls_segment(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if self._hls_folder is None or not (name.startswith("segment_") and name.endswith(".ts")
                                            and name[8:-3].isdigit()):
            return _error(404, f"no such HLS file {name!r}")
        path = self._hls_folder / name
        if not path.is_file():
            return _error(404, f"{name} has left the live window; reload /hls/index.m3u8")
        return web.FileResponse(path, headers={"Content-Type": "video/mp2t", "Cache-Control": "no-cache"})

    async def _page(self, request: web.Request) -> web.Response:
        config = self.engine.playback.config
        start, stop = config.frame_range or (0, self.engine.texture.n_frames)
        width, height = self.engine.size
        page = (_PAGE.replace("{{FRAMES}}", str(self.engine.texture.n_frames))
                .replace("{{SPEED}}", repr(config.speed)).replace("{{VARIETY}}", repr(config.variety))
                .replace("{{START}}", str(start)).replace("{{STOP}}", str(stop))
                .replace("{{WIDTH}}", str(width)).replace("{{HEIGHT}}", str(height)))
        return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})


def _error(status: int, message: str, *, headers=None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


async def serve_forever(engine: StreamEngine, config: ServeConfig, *, announce=print) -> None:
    """Serve until SIGTERM or Ctrl-C (SIGINT), then stop cleanly. `announce(url_line)` once listening."""
    server = StreamServer(engine, config)
    url = await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    waiting = asyncio.ensure_future(stop.wait())
    try:
        announce(url)
        # the clock loop ends only on an error: then stop too, rather than serve a frozen picture
        await asyncio.wait([waiting, server._clock_task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        clock = server._clock_task
        await server.stop()
    if clock.done() and not clock.cancelled() and clock.exception() is not None:
        raise clock.exception()


# The page: no external assets, no build step. The speed and variety sliders are logarithmic
# (as the player's variety slider), the range is two sliders; every change POSTs /control.
# `?controls=0` hides the panel (a kiosk display shows only the picture).
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>framechain</title>
<style>
html,body{margin:0;background:#000;color:#ddd;font:14px system-ui,sans-serif;height:100%}
#picture{display:block;width:100%;height:calc(100vh - 10em);object-fit:contain;background:#000}
body.kiosk #picture{height:100vh}
#panel{display:grid;grid-template-columns:auto 1fr auto;gap:.3em .8em;align-items:center;max-width:52em;margin:.5em auto;padding:0 1em}
body.kiosk #panel,body.kiosk #status{display:none}
input[type=range]{width:100%}
#status{text-align:center;color:#999;font-size:12px}
</style></head>
<body>
<img id="picture" src="/stream.mjpg" alt="the endless video" width="{{WIDTH}}" height="{{HEIGHT}}">
<div id="panel">
 <label for="speed">speed</label><input id="speed" type="range" min="-1" max="0.60206" step="0.01"><span id="speed-value"></span>
 <label for="variety">variety</label><input id="variety" type="range" min="-1" max="1" step="0.01"><span id="variety-value"></span>
 <label for="range-start">range from</label><input id="range-start" type="range" min="0" max="{{FRAMES}}" step="1" value="{{START}}"><span id="start-value"></span>
 <label for="range-stop">to</label><input id="range-stop" type="range" min="0" max="{{FRAMES}}" step="1" value="{{STOP}}"><span id="stop-value"></span>
</div>
<div id="status">connecting</div>
<script>
"use strict";
const frames = {{FRAMES}};
const $ = (id) => document.getElementById(id);
if (new URLSearchParams(location.search).get("controls") === "0") document.body.classList.add("kiosk");
$("speed").value = Math.log10({{SPEED}});
$("variety").value = Math.log10({{VARIETY}});
function controls() {
  const speed = +Math.pow(10, +$("speed").value).toFixed(3);
  const variety = +Math.pow(10, +$("variety").value).toFixed(3);
  let start = +$("range-start").value, stop = +$("range-stop").value;
  if (stop <= start) { if (start >= frames) start = frames - 1; stop = start + 1; }
  $("speed-value").textContent = speed.toFixed(2) + "x";
  $("variety-value").textContent = variety.toFixed(2) + "x";
  $("start-value").textContent = start;
  $("stop-value").textContent = stop;
  const whole = start === 0 && stop === frames;
  return {speed: speed, variety: variety, range: whole ? null : [start, stop]};
}
let sending = false, again = false;
async function send() {
  if (sending) { again = true; return; }  // one request in flight; the latest values follow it
  sending = true;
  try {
    const reply = await fetch("/control", {method: "POST", headers: {"Content-Type": "application/json"},
                                           body: JSON.stringify(controls())});
    if (!reply.ok) $("status").textContent = (await reply.json()).error;
  } catch (error) { $("status").textContent = "control failed: " + error; }
  sending = false;
  if (again) { again = false; send(); }
}
for (const id of ["speed", "variety", "range-start", "range-stop"]) $(id).addEventListener("input", send);
controls();
let lost = false;
async function poll() {
  try {
    const state = await (await fetch("/state", {cache: "no-store"})).json();
    $("status").textContent = `frame ${state.frame}  jumps ${state.jumps}  ${state.fps.toFixed(1)} fps  ${state.clients} client(s)`;
    if (lost) { lost = false; $("picture").src = "/stream.mjpg?" + Date.now(); }  // the server is back
  } catch (error) { lost = true; $("status").textContent = "server unreachable"; }
}
setInterval(poll, 1000); poll();
// a stream cut by a server restart: reconnect the picture
$("picture").addEventListener("error", () => setTimeout(() => { $("picture").src = "/stream.mjpg?" + Date.now(); }, 1000));
</script>
</body></html>
"""

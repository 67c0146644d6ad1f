"""`framechain serve` under load: N MJPEG clients for S seconds against one server.

    python -m benchmarks.bench_serve                          # 20 clients, 30 s, 640x360 at 30 fps
    python -m benchmarks.bench_serve --clients 5 --seconds 5  # a quick look
    python -m benchmarks.bench_serve --seconds 1800 --churn-s 20   # the soak: clients join and leave

The server is `framechain serve` in its own process (as deployed; its RSS is its own), on a free
loopback port, HLS on. The clients are asyncio connections in this process that read the raw
stream and count parts (no JPEG decoding: a browser decodes on its own machine). One more client
connects and never reads (a vanished or stalled viewer). Every ~2.5 s the benchmark POSTs a
speed change to /control and times how long until client 0 receives a frame rendered after it
(each part carries `X-Control-Version`).

Printed (and written to benchmarks/results/serve.json):
- engine frame time p50/p99 (chain step + composite + resize, per frame, from the server's /state:
  its last 2048 frames, which cover the loaded run), JPEG encode p99, dropped clock ticks;
- each client's delivered fps (parts received over the time from its first to its last part);
- control-to-stream latency, median and max;
- server RSS at start (after warm-up, before clients), at the end, and the drift, also less
  file-backed pages (the memory-mapped frame store), sampled every 10 s.

On this project's 2-core machine the clients share the cores with the server, so the figures
are a lower bound on what the server alone would do.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from benchmarks._util import save

SHARED_CLIP = Path(__file__).resolve().parents[1].parent / "shared" / "clips" / \
    "night_lights_bridge_reflection_1280x720.mov"
_VERSION = re.compile(rb"X-Control-Version: (\d+)")
_BOUNDARY = b"--framechainframe\r\n"


def _synthetic_clip(folder: Path) -> Path:
    """A 640x360 pendulum over a texture (tests/synthetic.py) when the shared clips are absent."""
    from tests.synthetic import pendulum_frames, write_video

    frames, _ = pendulum_frames(period=30, periods=4, height=360, width=640)
    return write_video(frames, folder / "pendulum_640x360.mp4", fps=30)


def _start_server(clip: str, *, size: str, fps: float):
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "serve", clip, "--port", "0", "--size", size, "--fps", str(fps)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:  # the ready line carries the URL
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if match:
            return process, int(match.group(1))
    raise RuntimeError(f"the server exited ({process.wait()}) without a ready line")


class Client:
    """One MJPEG viewer: counts parts and remembers when each control version first arrived."""

    def __init__(self, port: int):
        self.port = port
        self.parts = 0
        self.first_s = None
        self.last_s = None
        self.version_seen_s: dict[int, float] = {}
        self.bytes = 0

    async def run(self, stop: asyncio.Event, *, leave_after_s: float | None = None) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        writer.write(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        carry = b""
        started = time.perf_counter()
        try:
            while not stop.is_set():
                if leave_after_s is not None and time.perf_counter() - started > leave_after_s:
                    break
                try:
                    data = await asyncio.wait_for(reader.read(262144), 1.0)
                except asyncio.TimeoutError:
                    continue
                if not data:
                    break
                now = time.perf_counter()
                self.bytes += len(data)
                chunk = carry + data
                count = chunk.count(_BOUNDARY)
                if count:
                    self.parts += count
                    self.first_s = self.first_s or now
                    self.last_s = now
                    for match in _VERSION.finditer(chunk):
                        self.version_seen_s.setdefault(int(match.group(1)), now)
                carry = chunk[-64:]  # a boundary or header split across reads is found next time
        finally:
            writer.close()

    def fps(self) -> float:
        if self.parts < 2 or self.last_s == self.first_s:
            return 0.0
        return (self.parts - 1) / (self.last_s - self.first_s)


async def _http(port: int, method: str, path: str, body: bytes = b"") -> dict:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                 f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    data = await reader.read()
    writer.close()
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


async def _load(port: int, *, clients: int, seconds: float, churn_s: float | None, process) -> dict:
    stop = asyncio.Event()
    viewers = [Client(port) for _ in range(clients)]
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.connect(("127.0.0.1", port))
    stalled.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # and never reads
    tasks = [asyncio.create_task(viewer.run(stop)) for viewer in viewers]
    latencies_ms, rss_samples_mb, churned = [], [], []
    started = time.perf_counter()
    speeds = (1.5, 1.0)
    next_control = started + 2.0
    while time.perf_counter() - started < seconds:
        await asyncio.sleep(0.25)
        now = time.perf_counter()
        if now >= next_control:
            next_control = now + 2.5
            sent = time.perf_counter()
            reply = await _http(port, "POST", "/control",
                                json.dumps({"speed": speeds[len(latencies_ms) % 2]}).encode())
            version = reply["control_version"]
            while version not in viewers[0].version_seen_s and time.perf_counter() - sent < 5:
                await asyncio.sleep(0.002)
            seen = viewers[0].version_seen_s.get(version)
            latencies_ms.append(None if seen is None else (seen - sent) * 1e3)
        if churn_s and len(churned) < (now - started) / churn_s:  # one extra viewer joins for churn_s
            extra = Client(port)
            churned.append(extra)
            tasks.append(asyncio.create_task(extra.run(stop, leave_after_s=churn_s * 0.8)))
        if not rss_samples_mb or now - started >= rss_samples_mb[-1][0] + 10:
            rss_samples_mb.append((int(now - started), *(round(v, 1) for v in _memory_mb(process))))
    state = await _http(port, "GET", "/state")
    stop.set()
    await asyncio.gather(*tasks)
    stalled.close()
    measured = [latency for latency in latencies_ms if latency is not None]
    return {"state": state, "client_fps": [round(viewer.fps(), 2) for viewer in viewers],
            "client_parts": [viewer.parts for viewer in viewers],
            "latency_ms": {"median": round(statistics.median(measured), 1) if measured else None,
                           "max": round(max(measured), 1) if measured else None,
                           "count": len(latencies_ms), "missed": len(latencies_ms) - len(measured)},
            "rss_samples_mb": rss_samples_mb, "churned_clients": len(churned)}


def _memory_mb(process) -> tuple[float, float]:
    """(RSS, RSS less file-backed pages) in MB. The frame store is a memory-mapped file: its pages
    count in RSS as play first touches them, then stay (the kernel may drop them at will), so the
    second figure, the process' own memory, is the one that shows a leak."""
    info = process.memory_info()
    return info.rss / 2**20, (info.rss - info.shared) / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20, help="MJPEG clients (default 20)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long they watch (default 30)")
    parser.add_argument("--size", default="640x360", help="stream size (default 640x360)")
    parser.add_argument("--fps", type=float, default=30.0, help="stream rate (default 30)")
    parser.add_argument("--clip", help=f"clip to serve (default {SHARED_CLIP.name}, else a synthetic one)")
    parser.add_argument("--churn-s", type=float, help="every this many seconds one more viewer joins, "
                                                      "and leaves again (the soak)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        os.environ.setdefault("FRAMECHAIN_CACHE", str(Path(folder) / "cache"))
        clip = args.clip or (str(SHARED_CLIP) if SHARED_CLIP.is_file() else str(_synthetic_clip(Path(folder))))
        process, port = _start_server(clip, size=args.size, fps=args.fps)
        server = psutil.Process(process.pid)
        try:
            time.sleep(2.0)  # warm-up: the first frames, the first HLS segments
            rss_start_mb, own_start_mb = _memory_mb(server)
            result = asyncio.run(_load(port, clients=args.clients, seconds=args.seconds,
                                       churn_s=args.churn_s, process=server))
            rss_end_mb, own_end_mb = _memory_mb(server)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    state = result["state"]
    fps = result["client_fps"]
    figures = {
        "clip": clip, "size": args.size, "fps": args.fps, "clients": args.clients, "seconds": args.seconds,
        "engine_ms_p50": state["engine_ms_p50"], "engine_ms_p99": state["engine_ms_p99"],
        "encode_ms_p99": state["encode_ms_p99"], "dropped_ticks": state["dropped_ticks"],
        "server_fps": state["fps"], "hls": state["hls"],
        "client_fps_min": min(fps), "client_fps_median": statistics.median(fps), "client_fps_max": max(fps),
        "client_fps": fps, "latency_ms": result["latency_ms"],
        "rss_mb_start": round(rss_start_mb, 1), "rss_mb_end": round(rss_end_mb, 1),
        "rss_drift_mb": round(rss_end_mb - rss_start_mb, 1),
        "own_mb_start": round(own_start_mb, 1), "own_mb_end": round(own_end_mb, 1),
        "own_drift_mb": round(own_end_mb - own_start_mb, 1), "rss_samples_mb": result["rss_samples_mb"],
        "churned_clients": result["churned_clients"], "exit_status": process.returncode,
    }
    print(f"serve {clip} at {args.size}, {args.fps:g} fps: {args.clients} MJPEG clients (+1 stalled) "
          f"for {args.seconds:g} s")
    print(f"engine frame (chain + composite + resize): p50 {state['engine_ms_p50']} ms, "
          f"p99 {state['engine_ms_p99']} ms (goal <= 10); JPEG p99 {state['encode_ms_p99']} ms; "
          f"dropped ticks {state['dropped_ticks']}; HLS {state['hls']}")
    print(f"delivered fps per client: min {min(fps):.2f}, median {statistics.median(fps):.2f}, "
          f"max {max(fps):.2f} (goal >= 28)")
    print(f"  all: {' '.join(f'{v:.1f}' for v in fps)}")
    latency = result["latency_ms"]
    print(f"control -> stream latency: median {latency['median']} ms, max {latency['max']} ms over "
          f"{latency['count']} changes ({latency['missed']} not seen in 5 s) (goal <= 300)")
    print(f"server RSS: start {rss_start_mb:.1f} MB, end {rss_end_mb:.1f} MB, drift "
          f"{rss_end_mb - rss_start_mb:+.1f} MB (the memory-mapped frame store's pages included)")
    print(f"server RSS less file-backed pages: start {own_start_mb:.1f} MB, end {own_end_mb:.1f} MB, drift "
          f"{own_end_mb - own_start_mb:+.1f} MB; samples (s, RSS, own) {result['rss_samples_mb']}")
    print(f"server exit status after SIGTERM: {process.returncode}")
    print(f"written to {save('serve_soak' if args.churn_s else 'serve', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

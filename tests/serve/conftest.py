"""A live server for the serve tests: one StreamServer on a free loopback port, on its own event
loop thread, over a synthetic texture whose every frame is a different colour (so a changed
picture is a changed frame)."""
from __future__ import annotations

import asyncio
import threading

import pytest

from engine.playback import PlaybackConfig
from engine.render import make_compositor
from engine.serve import ServeConfig, StreamEngine, StreamServer
from tests.engine.textures import chain_texture, coloured_frames

STREAM_FPS = 20.0  # modest, so that two loaded cores keep up with everything else running
STREAM_SIZE = (160, 120)  # (width, height)
N_FRAMES = 40


class ServerThread:
    """A StreamServer running on an event loop in a background thread; `url` once started."""

    def __init__(self, engine: StreamEngine, config: ServeConfig):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-server", daemon=True)
        self.thread.start()
        self.server = StreamServer(engine, config)
        self.url = self.call(self.server.start())  # returns once listening: the readiness signal

    def call(self, coroutine, timeout_s: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout_s)

    def state(self) -> dict:
        async def read():
            return self.server.state()

        return self.call(read())

    def close(self) -> None:
        try:
            self.call(self.server.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


def synthetic_engine(*, fps: float = 30.0) -> StreamEngine:
    frames = coloured_frames(N_FRAMES, height=48, width=64)  # (40, 48, 64, 3): frame t's colour is its own
    texture = chain_texture(N_FRAMES, frames=frames, fps=fps)
    return StreamEngine(texture, compositor=make_compositor(texture.frames),
                        playback=PlaybackConfig(seed=3), size=STREAM_SIZE)


@pytest.fixture(scope="module")
def live_server():
    server = ServerThread(synthetic_engine(), ServeConfig(host="127.0.0.1", port=0, fps=STREAM_FPS))
    yield server
    server.close()

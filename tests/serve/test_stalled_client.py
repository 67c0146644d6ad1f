"""A viewer that stops reading is let go after write_timeout_s, and the stream goes on."""
from __future__ import annotations

import time

import numpy as np

from engine.playback import PlaybackConfig
from engine.render import make_compositor
from engine.serve import ServeConfig, StreamEngine
from tests.engine.textures import chain_texture
from tests.serve.conftest import ServerThread
from tests.serve.mjpeg import open_stream, read_parts


def test_a_viewer_that_stops_reading_is_dropped_and_the_others_still_get_frames():
    # noise compresses badly: ~150 KB JPEGs at 20 fps fill a stalled socket's buffers in seconds
    frames = np.random.default_rng(0).integers(0, 256, (8, 360, 640, 3), dtype=np.uint8)
    texture = chain_texture(8, jumps=((3, 0.5),), frames=frames)
    engine = StreamEngine(texture, compositor=make_compositor(texture.frames), playback=PlaybackConfig())
    server = ServerThread(engine, ServeConfig(port=0, fps=20, jpeg_quality=95, hls=False, write_timeout_s=1.0))
    try:
        stalled, _ = open_stream(server.url + "stream.mjpg", receive_buffer_bytes=4096)
        deadline = time.monotonic() + 60
        while server.state()["clients"] != 1:  # the stalled viewer is counted while it connects
            assert time.monotonic() < deadline
            time.sleep(0.05)
        while server.state()["clients"] != 0:  # then, its socket full for 1 s, it is let go
            assert time.monotonic() < deadline, "the stalled viewer was never dropped"
            time.sleep(0.1)
        parts = read_parts(server.url + "stream.mjpg", duration_s=1.0)
        assert len(parts) >= 2  # the stream goes on for the others
        stalled.close()
    finally:
        server.close()

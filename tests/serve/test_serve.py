"""`framechain serve` over HTTP: the MJPEG stream's rate and change, HLS, controls and state.

The server runs on a free loopback port in this process (conftest.live_server), over a texture
whose frames all differ in colour, streamed at STREAM_FPS and STREAM_SIZE."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest

from tests.serve.conftest import N_FRAMES, STREAM_FPS, STREAM_SIZE
from tests.serve.mjpeg import open_stream, read_parts


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.status, reply.headers, reply.read()


def _post(url: str, body: bytes):
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _state(base: str) -> dict:
    return json.loads(_get(base + "state")[2])


def test_mjpeg_frames_arrive_at_the_stated_rate_and_change_while_another_client_stalls(live_server):
    # a second client that never reads: its socket fills and its handler blocks, nobody else's
    stalled, _ = open_stream(live_server.url + "stream.mjpg", receive_buffer_bytes=4096)
    clients_seen = []
    try:
        parts = read_parts(live_server.url + "stream.mjpg", duration_s=3.0,
                           on_part=lambda part: clients_seen.append(live_server.state()["clients"]))
    finally:
        stalled.close()
    times = [t for t, _, _ in parts]
    rate_fps = (len(parts) - 1) / (times[-1] - times[0])
    assert STREAM_FPS * 0.9 <= rate_fps <= STREAM_FPS * 1.1, f"{len(parts)} frames in 3 s: {rate_fps:.1f} fps"
    images = [cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR) for _, _, jpeg in parts]
    assert all(image is not None and image.shape == (STREAM_SIZE[1], STREAM_SIZE[0], 3) for image in images)
    # every source frame is a different flat colour: consecutive pictures differ (the picture moves)
    changed = [np.abs(a.astype(int) - b.astype(int)).mean() > 2 for a, b in zip(images, images[1:])]
    assert sum(changed) >= 0.9 * len(changed)
    frame_indices = [int(headers["x-frame-index"]) for _, headers, _ in parts]
    assert all(0 <= index < N_FRAMES for index in frame_indices)
    assert max(clients_seen) == 2  # the stalled client was still connected, and counted


def test_hls_playlist_slides_on_and_its_segments_decode(live_server, tmp_path):
    from precompute.video_io import decode_clip

    base = live_server.url + "hls/"

    def playlist():
        deadline = time.monotonic() + 15
        while True:  # 503 until the first segment is complete
            try:
                return _get(base + "index.m3u8")[2].decode()
            except urllib.error.HTTPError as error:
                if error.code != 503 or time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    def segments(text):
        return [line for line in text.splitlines() if line.endswith(".ts")]

    first = playlist()
    assert first.startswith("#EXTM3U") and segments(first)
    deadline = time.monotonic() + 15
    later = first
    while segments(later)[-1] == segments(first)[-1]:  # a new segment per segment_s (1 s)
        assert time.monotonic() < deadline, "no new HLS segment in 15 s"
        time.sleep(0.25)
        later = playlist()
    assert len(segments(later)) > len(segments(first)) or segments(later)[0] != segments(first)[0]
    name = segments(later)[-1]
    status, headers, data = _get(base + name)
    assert status == 200 and headers["Content-Type"] == "video/mp2t"
    path = tmp_path / name
    path.write_bytes(data)
    frames, _ = decode_clip(path)  # (T, H, W, 3): a whole second of stream, decoded by PyAV
    assert frames.shape[1:] == (STREAM_SIZE[1], STREAM_SIZE[0], 3)
    assert STREAM_FPS * 0.5 <= len(frames) <= STREAM_FPS * 1.5  # about one segment_s of frames
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).mean() > 2  # it moves


def test_control_changes_state_and_reaches_the_stream(live_server):
    base = live_server.url
    before = _state(base)
    status, reply = _post(base + "control", json.dumps(
        {"speed": 2.5, "variety": 3.0, "range": [10, 20]}).encode())
    assert status == 200, reply
    after = _state(base)
    assert (after["speed"], after["variety"], after["range"]) == (2.5, 3.0, [10, 20])
    assert after["control_version"] == before["control_version"] + 1
    # frames rendered after the change carry its version in their part headers
    parts = read_parts(base + "stream.mjpg", duration_s=0.5)
    assert int(parts[-1][1]["x-control-version"]) == after["control_version"]
    status, reply = _post(base + "control", json.dumps({"range": None, "speed": 1, "variety": 1}).encode())
    assert status == 200 and reply["range"] is None and reply["speed"] == 1.0


@pytest.mark.parametrize("body, names", [
    (b"speed=2", "JSON"),
    (b'{"speed": 9}', "speed must be a number in 0.1..4, got 9"),
    (b'{"speed": "fast"}', "speed must be a number"),
    (b'{"speed": true}', "speed must be a number"),
    (b'{"variety": 0}', "variety must be a number in 0.1..10, got 0"),
    (b'{"range": [20, 10]}', "range must be [start, stop]"),
    (b'{"range": [0, 41]}', "<= 40"),
    (b'{"range": [1.5, 4]}', "whole frames"),
    (b'{"sped": 2}', "unknown field 'sped'"),
    (b"{}", "at least one of speed, variety and range"),
    (b"[1, 2]", "must be a JSON object"),
])
def test_bad_control_input_gets_400_with_a_clear_message_and_changes_nothing(live_server, body, names):
    before = _state(live_server.url)
    status, reply = _post(live_server.url + "control", body)
    assert status == 400
    assert names in reply["error"]
    after = _state(live_server.url)
    assert (after["speed"], after["variety"], after["range"], after["control_version"]) == \
           (before["speed"], before["variety"], before["range"], before["control_version"])


def test_page_is_self_contained_with_the_stream_and_the_controls(live_server):
    status, headers, body = _get(live_server.url)
    page = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert 'src="/stream.mjpg"' in page
    for control in ('id="speed"', 'id="variety"', 'id="range-start"', 'id="range-stop"'):
        assert control in page
    assert "http://" not in page and "https://" not in page  # no external assets
    assert f'max="{N_FRAMES}"' in page


def test_twenty_viewers_all_receive_the_same_stream(live_server):
    import hashlib
    from concurrent.futures import ThreadPoolExecutor

    def watch(_):
        return [hashlib.sha1(jpeg).hexdigest() for _, _, jpeg in
                read_parts(live_server.url + "stream.mjpg", duration_s=2.0)]

    with ThreadPoolExecutor(20) as pool:
        seen = list(pool.map(watch, range(20)))
    assert all(len(pictures) >= 2 for pictures in seen)  # every viewer receives frames
    # one engine, each frame encoded once: viewers watching at the same time get the same JPEGs
    common = set(seen[0]).intersection(*map(set, seen[1:]))
    assert len(common) >= 0.5 * len(seen[0])

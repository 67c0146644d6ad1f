"""`framechain serve` as a command: ready line, clean stop on SIGTERM and Ctrl-C, one-line errors."""
from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from engine.cli import main
from tests.serve.mjpeg import open_stream
from tests.synthetic import cycle_frames, write_image_folder


@pytest.fixture(scope="module")
def analysis_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve-cli")
    clip = write_image_folder(cycle_frames(period=8, repeats=4), folder / "cycle")
    out = folder / "cycle.fc"
    assert main(["analyze", str(clip), "-o", str(out), "--quiet"]) == 0
    return out


def _start(arguments):
    process = subprocess.Popen([sys.executable, "-m", "engine.cli", "serve", *arguments],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read():  # the ready line carries the URL; a reader thread so a hung server cannot hang us
        for line in process.stdout:
            lines.append(line)
            if "serving" in line:
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(60):
        process.kill()
        pytest.fail(f"no ready line in 60 s: {lines} {process.stderr.read()}")
    match = re.search(r"http://127\.0\.0\.1:\d+/", "".join(lines))
    if match is None:
        process.kill()
        pytest.fail(f"no URL in {lines!r}; stderr: {process.stderr.read()}")
    return process, match.group(0), lines


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_serves_and_stops_cleanly_on_a_signal_with_a_client_connected(analysis_folder, stop_signal):
    process, url, lines = _start([str(analysis_folder), "--port", "0", "--fps", "10", "--size", "64x48"])
    try:
        state = json.loads(urllib.request.urlopen(url + "state", timeout=10).read())
        assert state["frames"] == 32 and state["size"] == [64, 48] and state["target_fps"] == 10
        stream, _ = open_stream(url + "stream.mjpg")
        assert stream.recv(65536)  # frames flow
        process.send_signal(stop_signal)
        returncode = process.wait(timeout=30)
        stream.settimeout(10)
        received = stream.recv(1 << 20)
        while received:  # the server ends the stream: the client sees the connection close
            received = stream.recv(1 << 20)
        stream.close()
    finally:
        if process.poll() is None:
            process.kill()
    stderr = process.stderr.read()
    assert returncode == 0, stderr
    assert "Traceback" not in stderr
    assert any("stopped" in line for line in lines)


def test_an_occupied_port_is_one_clear_line_and_exit_2(analysis_folder):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "engine.cli", "serve", str(analysis_folder),
                                 "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framechain: error: --port")
    assert "already in use" in lines[0]


@pytest.mark.parametrize("arguments, flag", [
    (["--size", "640"], "--size"), (["--fps", "0"], "--fps"), (["--port", "70000"], "--port"),
    (["--speed", "9"], "--speed"), (["--variety", "0"], "--variety"),
])
def test_bad_flags_are_one_line_naming_the_flag(analysis_folder, capsys, arguments, flag):
    assert main(["serve", str(analysis_folder), *arguments]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith(f"framechain: error: {flag}")

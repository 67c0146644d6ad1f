"""`framechain hyperlapse` end to end on a short synthetic walk: the file holds exactly the
frames its play log names (the source frames themselves, within codec tolerance), in every
export format, and the log is the ordinary play log."""
from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from precompute.video_io import decode_clip
from tests.synthetic_walk import WalkConfig, write_walk

WALK = WalkConfig(ground_px=1024, seed=5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("walk")
    path, _ = write_walk(folder / "walk.mp4", 240, WALK)
    frames, _ = decode_clip(path)
    return path, frames


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    assert code == 0, out.err
    return out.out


def test_the_output_is_the_frames_its_log_names(clip, tmp_path, capsys):
    path, source = clip
    out = _run(["hyperlapse", path, "-o", tmp_path / "h.mp4", "--speedup", "6", "--log",
                tmp_path / "h.json", "--quiet"], capsys)
    log = json.loads((tmp_path / "h.json").read_text())
    assert log["format"] == "framechain-playlog" and log["fps"] == 30.0
    chosen = [entry[0][0] for entry in log["frames"]]
    assert all(len(entry) == 1 and entry[0][1] == 1.0 for entry in log["frames"])
    assert np.all(np.diff(chosen) >= 1) and 0 <= chosen[0] and chosen[-1] < len(source)
    assert abs((chosen[-1] - chosen[0]) / (len(chosen) - 1) - 6) < 0.3
    written, _ = decode_clip(tmp_path / "h.mp4")
    assert len(written) == len(chosen)
    error = np.sqrt(np.mean((written.astype(np.float32) - source[chosen].astype(np.float32)) ** 2,
                            axis=(1, 2, 3)))  # (n,) RMS per frame, 0..255
    assert error.max() < 6  # the same pictures, through a second H.264 encode
    neighbours = np.sqrt(np.mean((written[1:].astype(np.float32)
                                  - source[np.array(chosen[1:]) - 1].astype(np.float32)) ** 2))
    assert neighbours > 3 * error.mean()  # and not the frames beside them
    assert "mean step" in out and "naive" in out


@pytest.mark.parametrize("name, count_frames", [
    ("h.gif", lambda p: len(decode_clip(p)[0])),
    ("frames", lambda p: len(list(p.iterdir()))),
])
def test_stabilized_and_resized_in_other_formats(clip, tmp_path, capsys, name, count_frames):
    path, source = clip
    _run(["hyperlapse", path, "-o", tmp_path / name, "--speedup", "8", "--stabilize", "--size",
          "96x54", "--log", tmp_path / "h.json", "--quiet"], capsys)
    log = json.loads((tmp_path / "h.json").read_text())
    assert count_frames(tmp_path / name) == len(log["frames"])
    first = decode_clip(tmp_path / name)[0][0] if name.endswith(".gif") else None
    if first is not None:
        assert first.shape == (54, 96, 3)


def test_naive_writes_every_vth_frame_and_a_rerun_needs_no_force(clip, tmp_path, capsys):
    path, source = clip
    for _ in range(2):  # the second run replaces the file it wrote itself
        _run(["hyperlapse", path, "-o", tmp_path / "n.mp4", "--speedup", "8", "--naive", "--log",
              tmp_path / "n.json", "--quiet"], capsys)
    chosen = [entry[0][0] for entry in json.loads((tmp_path / "n.json").read_text())["frames"]]
    assert chosen == list(range(0, len(source), 8))

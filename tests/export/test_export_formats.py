"""precompute.video_io writers and engine.export: every format round-trips, loops are seamless in
the decoded file, and failures leave no file behind."""
import json
from pathlib import Path

import numpy as np
import pytest

from export_synthetic import periodic_frames, rms, steps
from engine.export import ExportConfig, export_loop, export_random, render_blends
from precompute.errors import ExportError
from precompute.video_io import VideoWriter, decode_clip, open_writer, write_frames

# Codec tolerance: mean absolute error in grey levels of 2x2 block means (the resolution of the
# yuv420p chroma planes, whose subsampling alone costs ~5 levels per pixel on this saturated
# grating). Measured here with the default EncodeConfig: mp4 2.3, webm 2.6, gif 0.3; the
# lossless formats (APNG, PNG folder) must be exact.
TOLERANCE = {"mp4": 4.0, "webm": 4.0, "gif": 4.0, "png": 0.0, "": 0.0}


def block_means(frames):
    """(T, H, W, 3) -> (T, H/2, W/2, 3) float64 means of 2x2 blocks (H, W even)."""
    t, h, w, c = frames.shape
    return frames.astype(np.float64).reshape(t, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def decode_rgba_webm(path):
    """VP9 alpha is a side stream only libvpx decodes (FFmpeg's native vp9 drops it)."""
    import av

    frames = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoder = av.CodecContext.create("libvpx-vp9", "r")
        for packet in container.demux(stream):
            for frame in decoder.decode(packet):
                frames.append(frame.to_ndarray(format="rgba"))
    return np.stack(frames)


def leftovers(folder: Path, keep=()):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".gif", ".png", ""])
def test_loop_round_trips_and_is_seamless(suffix, periodic_analysis, tmp_path):
    out = tmp_path / f"loop{suffix}"
    result = export_loop(periodic_analysis, out, seconds=36 / 30, progress=False)
    assert leftovers(tmp_path) == [out.name]  # no temporary file beside it
    assert result.frames == result.loop.length == 36
    decoded, info = decode_clip(out)
    assert decoded.shape[0] == result.frames  # no frame dropped or duplicated at the wrap
    rendered = np.stack([f.copy() for f in render_blends(
        periodic_analysis, result.blends, config=ExportConfig(), source_frames=result.source_frames)])
    assert np.abs(block_means(decoded) - block_means(rendered)).mean() <= TOLERANCE[suffix.lstrip(".")]
    if suffix in (".mp4", ".webm"):
        assert info.fps == pytest.approx(30.0)
    # the decoded file's wrap step is as small as its other steps
    step = steps(decoded)  # (T,), last entry = wrap
    assert step[-1] <= np.median(step[:-1]) * 1.1 + 0.5
    assert step[-1] <= step[:-1].max() + 1e-6


def test_crossfaded_wrap_is_rendered_cyclically(known_loop_analysis, tmp_path):
    # a loop whose single jump is not free (K = 8 crossfade): blends straddle the wrap
    a = known_loop_analysis
    result = export_loop(a, tmp_path / "loop.png", seconds=30 / 30, progress=False,
                         config=ExportConfig(fade_frames=8))
    assert result.frames == result.loop.length
    blended = [t for t, blend in enumerate(result.blends) if len(blend) > 1]
    n = result.frames
    jumps = [t for t in range(n) if result.source_frames[(t + 1) % n] != result.source_frames[t] + 1]
    assert jumps, "this loop should hold a jump"
    # every jump (the wrap's included) has 4 blended frames on each side, taken cyclically
    for t in jumps:
        around = {(t + d) % n for d in range(-3, 5)}
        assert around <= set(blended), (t, sorted(around - set(blended)))
    decoded, _ = decode_clip(tmp_path / "loop.png")
    step = steps(decoded)
    assert step[-1] <= step[:-1].max() + 1e-6


def test_odd_sizes_and_resize(periodic_analysis, tmp_path):
    out = tmp_path / "odd.mp4"
    result = export_loop(periodic_analysis, out, seconds=1.2, progress=False,
                         config=ExportConfig(size=(41, 23)))
    decoded, _ = decode_clip(out)
    assert decoded.shape == (result.frames, 24, 42, 3)  # padded to even by repeating the edge
    np.testing.assert_allclose(decoded[:, -1].mean(), decoded[:, -2].mean(), atol=6)


def test_mp4_starts_on_a_key_frame(periodic_analysis, tmp_path):
    import av

    out = tmp_path / "loop.mp4"
    export_loop(periodic_analysis, out, seconds=1.2, progress=False)
    with av.open(str(out)) as container:
        first = next(p for p in container.demux(video=0) if p.size)
        assert first.is_keyframe


@pytest.mark.parametrize("suffix", [".webm", ".png", "", ".gif"])
def test_rgba_frames_keep_their_alpha(suffix, tmp_path):
    rgb = periodic_frames(8, height=20, width=30)
    alpha = np.zeros(rgb.shape[:3] + (1,), np.uint8)
    alpha[:, 5:15, 8:22] = 255  # an opaque box on a transparent background
    frames = np.concatenate([rgb, alpha], axis=3)  # (T, H, W, 4)
    out = tmp_path / f"sprite{suffix}"
    with open_writer(out, fps=24, size=(30, 20), alpha=True) as writer:
        for frame in frames:
            writer.write(frame)
    if suffix == ".webm":
        decoded = decode_rgba_webm(out)
        assert decoded.shape == frames.shape
        assert np.abs(decoded[..., 3].astype(int) - alpha[..., 0]).mean() < 8
    elif suffix == ".gif":  # 1-bit transparency
        import av

        with av.open(str(out)) as container:
            decoded = np.stack([f.to_ndarray(format="rgba") for f in container.decode(video=0)])
        assert decoded.shape == frames.shape
        np.testing.assert_array_equal(decoded[..., 3], alpha[..., 0])
    else:
        import av
        import cv2

        if suffix == ".png":
            with av.open(str(out)) as container:
                decoded = np.stack([f.to_ndarray(format="rgba") for f in container.decode(video=0)])
        else:
            names = sorted(out.iterdir())
            decoded = np.stack([cv2.imread(str(n), cv2.IMREAD_UNCHANGED)[..., [2, 1, 0, 3]] for n in names])
        np.testing.assert_array_equal(decoded, frames)


def test_mp4_refuses_alpha(tmp_path):
    with pytest.raises(ExportError, match="no alpha"):
        open_writer(tmp_path / "a.mp4", fps=30, size=(8, 8), alpha=True)
    assert leftovers(tmp_path) == []


def test_missing_or_unwritable_target_folder(tmp_path):
    frames = periodic_frames(4)
    with pytest.raises(ExportError, match="does not exist"):
        write_frames(tmp_path / "missing" / "a.mp4", frames, fps=30)
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    with pytest.raises(ExportError, match="does not exist"):
        write_frames(blocker / "a.gif", frames, fps=30)
    with pytest.raises(ExportError, match="unknown output type"):
        write_frames(tmp_path / "a.avi2", frames, fps=30)
    assert leftovers(tmp_path) == ["file"]


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".gif", ".png", ""])
def test_writer_failing_midway_leaves_no_file(suffix, tmp_path, monkeypatch, periodic_analysis):
    # a full disk, simulated: the 5th frame's write fails with ENOSPC
    original = VideoWriter._write

    def failing(self, frame):
        if self.frames_written == 4:
            raise OSError(28, "No space left on device")
        return original(self, frame)

    monkeypatch.setattr(VideoWriter, "_write", failing)
    out = tmp_path / f"loop{suffix}"
    with pytest.raises(ExportError, match="no partial file") as caught:
        export_loop(periodic_analysis, out, seconds=1.2, progress=False)
    assert "No space left" in str(caught.value) and str(out) in str(caught.value)
    assert leftovers(tmp_path) == []


def test_failure_at_close_and_ctrl_c_leave_no_file(tmp_path, monkeypatch):
    frames = periodic_frames(6)
    out = tmp_path / "a.mp4"
    with pytest.raises(KeyboardInterrupt):
        with open_writer(out, fps=30, size=(40, 24)) as writer:
            writer.write(frames[0])
            raise KeyboardInterrupt
    assert leftovers(tmp_path) == []

    def broken_replace(self):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(VideoWriter, "_replace_target", broken_replace)
    with pytest.raises(ExportError, match="no partial file"):
        write_frames(out, frames, fps=30)
    assert leftovers(tmp_path) == []


def test_existing_file_is_replaced_only_when_complete(tmp_path, monkeypatch):
    out = tmp_path / "a.gif"
    out.write_bytes(b"old")
    original = VideoWriter._write

    def failing(self, frame):
        if self.frames_written == 2:
            raise OSError(28, "No space left on device")
        return original(self, frame)

    monkeypatch.setattr(VideoWriter, "_write", failing)
    with pytest.raises(ExportError):
        write_frames(out, periodic_frames(6), fps=30)
    assert out.read_bytes() == b"old"  # the previous file is untouched


def test_random_mode_writes_seconds_and_a_play_log(periodic_analysis, tmp_path):
    log = tmp_path / "play.json"
    result = export_random(periodic_analysis, tmp_path / "random.png", seconds=2.0, log=log,
                           progress=False, config=ExportConfig(seed=3))
    assert result.frames == 60
    decoded, _ = decode_clip(tmp_path / "random.png")
    assert decoded.shape[0] == 60
    data = json.loads(log.read_text())
    assert data["format"] == "framechain-playlog" and data["format_version"] == 1
    assert data["fps"] == 30.0 and len(data["frames"]) == 60
    for entry in data["frames"]:
        assert sum(w for _, w in entry) == pytest.approx(1.0, abs=1e-5)
        assert all(0 <= i < periodic_analysis.n_frames for i, _ in entry)
    again = export_random(periodic_analysis, tmp_path / "again.png", seconds=2.0, progress=False,
                          config=ExportConfig(seed=3))
    assert again.blends == result.blends  # the same seed plays the same frames


def test_loop_play_log_matches_the_file(known_loop_analysis, tmp_path):
    log = tmp_path / "loop.json"
    result = export_loop(known_loop_analysis, tmp_path / "loop", seconds=40 / 30, log=log,
                         progress=False)
    data = json.loads(log.read_text())
    assert len(data["frames"]) == result.frames == 40
    frames = known_loop_analysis.frames
    decoded, _ = decode_clip(tmp_path / "loop")
    for t in (0, 17, 39):  # a logged blend recomposes the written frame (rounding aside)
        mix = sum(w * frames[i].astype(float) for i, w in data["frames"][t])
        assert rms(mix, decoded[t]) < 1.0

import numpy as np
import pytest

from precompute import ClipError, analyze_clip
from precompute.video_io import decode_clip
from tests.synthetic import cycle_frames, write_image_folder, write_video

# frames actually decoded, from ../shared/clips/SOURCES.md
SHARED = {
    "candle_flame_144x144_png": 100,
    "clock_pendulum_352x288.mov": 57,
    "newtons_cradle_cg_200x150.gif": 36,
    "waterfall_forest_640x360.mp4": 29,
    "night_lights_bridge_reflection_1280x720.mov": 168,
    "fish_school_on_black_596x336.mp4": 1500,
}


@pytest.mark.parametrize("name", sorted(SHARED))
def test_shared_clips_decode_with_true_count_and_analyse(shared_clips, name, tmp_path):
    analysis = analyze_clip(shared_clips / name, out=tmp_path / "a", progress=False)
    assert analysis.n_frames == SHARED[name]
    assert analysis.frames.shape[0] == SHARED[name]
    assert np.all(np.diff(analysis.link_offsets) >= 1)
    assert analysis.stats["future_cost_converged"]


def test_video_round_trip_counts_decoded_frames(tmp_path):
    frames = cycle_frames(period=6, repeats=3)
    path = write_video(frames, tmp_path / "c.mp4")
    decoded, info = decode_clip(path)
    assert decoded.shape == frames.shape and info.fps == 30
    assert np.abs(decoded.astype(int) - frames).mean() < 3  # lossless-ish H.264 with yuv444p


def _error(path):
    with pytest.raises(ClipError) as caught:
        analyze_clip(path, progress=False)
    message = str(caught.value)
    assert str(path) in message
    return message


def test_missing_path(tmp_path):
    assert "no such file" in _error(tmp_path / "nope.mp4")


def test_text_file_named_mp4(tmp_path):
    path = tmp_path / "text.mp4"
    path.write_text("hello, this is not a video\n" * 20)
    assert "not a video" in _error(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert "empty" in _error(path)


def test_truncated_mp4(tmp_path):
    path = write_video(cycle_frames(period=6, repeats=5), tmp_path / "full.mp4")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    message = _error(truncated)
    assert "truncated" in message or "not a video" in message


def test_audio_only_file(tmp_path):
    import av

    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        samples = (np.sin(np.arange(8000) / 5) * 3000).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = 8000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert "no video stream" in _error(path)


@pytest.mark.parametrize("count", [1, 2])
def test_one_and_two_frame_clips(tmp_path, count):
    path = write_video(cycle_frames(period=6, repeats=1)[:count], tmp_path / f"short{count}.mp4")
    assert f"only {count} frame" in _error(path)


def test_image_folder_with_mixed_sizes(tmp_path):
    import cv2

    folder = write_image_folder(cycle_frames(period=6, repeats=1), tmp_path / "mixed")
    cv2.imwrite(str(folder / "frame_00003.png"), np.zeros((10, 12, 3), np.uint8))
    with pytest.raises(ClipError, match="frame_00003.png.*one size"):
        analyze_clip(folder, progress=False)


def test_folder_without_images(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    assert "no PNG or JPEG" in _error(tmp_path)

"""Decoding at the decoder's speed (issue 17): one kept FFmpeg scaler, display frames scaled by
FFmpeg from the decoded picture. The features are those of the old per-frame RGB path."""
import numpy as np
import pytest

from precompute import ClipError
from precompute.analysis import decode_features
from precompute.config import AnalysisConfig
from precompute.features import frame_feature
from precompute.video_io import open_clip
from tests.synthetic import disc_frames, write_video


def write_yuv420(frames: np.ndarray, path, *, fps: int = 30):
    """H.264 in yuv420p, as cameras and the web deliver it (chroma at half resolution); the
    index first (faststart), so that a cut file still opens and is found short."""
    return write_video(frames, path, fps=fps, pix_fmt="yuv420p", options={"crf": "12", "g": "10"},
                       faststart=True)


def moving_discs(count: int = 36, height: int = 96, width: int = 128) -> np.ndarray:
    t = np.arange(count)
    centres = np.stack([width / 2 + width / 3 * np.cos(t / 5), height / 2 + height / 3 * np.sin(t / 4)], 1)
    return disc_frames(centres, height=height, width=width, radius=9.0)


def old_path(path, config):
    """The path before issue 17: every frame to RGB with its own conversion, then numpy/OpenCV."""
    import av
    import cv2

    features, stored = [], []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            rgb = frame.to_ndarray(format="rgb24")  # (H, W, 3)
            features.append(frame_feature(rgb, feature_width=config.feature_width))
            height, width = rgb.shape[:2]
            size = (round(width * config.store_max_height / height), config.store_max_height)
            stored.append(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA))
    return np.stack(features), np.stack(stored)


@pytest.mark.parametrize("store", ["raw", "proxy"])
def test_scaled_decode_gives_the_old_features_and_frame_count(tmp_path, store):
    frames = moving_discs()
    path = write_yuv420(frames, tmp_path / "discs.mp4")
    config = AnalysisConfig(feature_width=32, store_max_height=48)  # display 64x48: scaled
    want_features, want_store = old_path(path, config)
    index = {}
    features, shape, info, _ = decode_features(path, config, store_file=tmp_path / "store",
                                               progress=False, store=store, store_index=index)
    assert index["kind"] == store
    assert features.shape == want_features.shape == (len(frames), 24 * 32 * 3)
    assert shape == (len(frames), 48, 64, 3)
    difference = np.abs(features - want_features)
    assert difference.max() <= 1.0, "features differ by more than rounding"
    if store == "raw":
        got = np.fromfile(tmp_path / "store", np.uint8).reshape(shape)
        # FFmpeg area-scales the RGB picture where OpenCV scaled the RGB array: within rounding
        assert np.abs(got.astype(int) - want_store).max() <= 1


def test_decoded_frames_count_and_sizes_match_plain_iteration(tmp_path):
    frames = moving_discs(count=23, height=72, width=96)
    path = write_yuv420(frames, tmp_path / "odd_count.mp4")
    with open_clip(path) as reader:
        plain = [frame for frame in reader]
    with open_clip(path) as reader:
        decoded = list(reader.decoded((48, 36)))
    assert len(decoded) == len(plain) == 23
    for d, p in zip(decoded, plain):
        assert np.array_equal(d.rgb, p)  # the same conversion as before, one scaler kept
        assert d.display.shape == (36, 48, 3)


@pytest.mark.parametrize("store", ["raw", "proxy"])
def test_scaled_decode_still_refuses_a_truncated_file(tmp_path, store):
    frames = moving_discs(count=60)
    path = write_yuv420(frames, tmp_path / "full.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])
    config = AnalysisConfig(feature_width=32, store_max_height=48)
    with pytest.raises(ClipError, match="cut short|damaged|not a video"):
        decode_features(cut, config, store_file=tmp_path / "s", progress=False, store=store)
    index = {}
    features, shape, _, _ = decode_features(cut, config, store_file=tmp_path / "s2", progress=False,
                                            store=store, allow_truncated=True, store_index=index)
    assert 4 <= shape[0] < 60 and features.shape[0] == shape[0]
    if store == "proxy":
        assert index["offsets"].shape == (shape[0] + 1,)

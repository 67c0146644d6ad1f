import numpy as np
import pytest

from precompute.features import feature_size, frame_feature, frame_feature_u8


def _block_means(frame, k, h, w):
    """Reference: exact means of k x k blocks in float64, rounded half to even."""
    blocks = frame[: h * k, : w * k].astype(np.float64).reshape(h, k, w, k, 3)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


@pytest.mark.parametrize("height, width", [(480, 480), (360, 640), (291, 517), (64, 256)])
def test_features_are_rounded_block_means(height, width):
    rng = np.random.default_rng(height)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    frame[:8, :8] = 7  # a block whose mean is a whole number
    frame[8:16, :8] = np.array([0, 1, 2], np.uint8)[None, None, :] * 255  # ties and extremes
    h, w = feature_size(height, width, 64)
    k = round(width / 64)
    expected = _block_means(frame, k, h, w).reshape(-1)
    got = frame_feature_u8(frame, feature_width=64)
    assert got.dtype == np.uint8 and np.array_equal(got, expected)
    assert np.array_equal(frame_feature(frame, feature_width=64), expected.astype(np.float32))


def test_features_of_a_view_equal_those_of_a_copy():
    rng = np.random.default_rng(5)
    big = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    view = big[10:170, 20:276]  # not contiguous
    assert np.array_equal(frame_feature_u8(view, feature_width=32),
                          frame_feature_u8(view.copy(), feature_width=32))
    equalized = frame_feature(view, feature_width=32, equalize=True)
    assert abs(float(equalized.mean())) < 1e-3


@pytest.mark.parametrize("height, width, feature_width", [(72, 128, 64), (72, 128, 43), (97, 301, 64),
                                                          (480, 480, 64), (64, 256, 64), (90, 1920, 64)])
def test_features_without_the_kernel_are_the_same_numbers(monkeypatch, height, width, feature_width):
    """While numba loads (issue 17) the decode loop takes the features from numpy: the very
    numbers of the kernel, ties included (k = 2 .. 30: uint16 and uint32 block sums)."""
    import precompute.features as features

    rng = np.random.default_rng(width)
    frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    frame[: height // 2] = frame[: height // 2] // 64 * 64 + 32  # many blocks with a mean on a tie
    expected = frame_feature_u8(frame, feature_width=feature_width)  # the kernel
    monkeypatch.setattr(features, "_kernel", None)  # as before the warm-up has loaded it
    got = frame_feature_u8(frame, feature_width=feature_width, wait=False)
    assert features._kernel is None  # nothing waited for numba
    assert np.array_equal(got, expected)
    assert np.array_equal(frame_feature(frame[:, ::-1], feature_width=feature_width, wait=False),
                          frame_feature(frame[:, ::-1], feature_width=feature_width))

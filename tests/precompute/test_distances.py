import numpy as np
import pytest

from assets.candle import candle_frames
from precompute import frame_distances, frame_features


def _reference(features):
    x = features.astype(np.float64)
    return np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))


def test_float32_distances_match_float64_on_neighbouring_frames():
    # a real-looking clip: consecutive candle frames differ by ~1% of their norm, where the
    # float32 expansion |a|^2 + |b|^2 - 2ab cancels worst
    frames = candle_frames(seconds=1.0, size=(64, 80), seed=3)
    features = frame_features(frames, feature_width=64)
    distances = frame_distances(features)
    reference = _reference(features)
    n = len(features)
    i = np.arange(n - 1)
    ref = reference[i, i + 1]
    got = distances[i, i + 1].astype(np.float64)
    assert np.all(ref > 0)
    assert np.max(np.abs(got - ref) / ref) < 1e-3
    # and everywhere else within 1e-3 of the largest distance
    assert np.max(np.abs(distances - reference)) < 1e-3 * reference.max()


def test_distances_are_symmetric_with_exact_zeros_for_duplicates():
    rng = np.random.default_rng(0)
    features = rng.uniform(100, 140, (30, 500)).astype(np.float32)
    features[7] = features[3]
    distances = frame_distances(features)
    assert distances.dtype == np.float32 and distances.shape == (30, 30)
    assert np.array_equal(distances, distances.T)
    assert distances[3, 7] == 0.0 and np.all(np.diag(distances) == 0)
    off = ~np.eye(30, dtype=bool)
    off[3, 7] = off[7, 3] = False
    assert np.all(distances[off] > 0)


def test_input_is_checked_and_never_modified():
    features = np.ones((5, 8), np.float32)
    before = features.copy()
    frame_distances(features)
    assert np.array_equal(features, before)
    with pytest.raises(ValueError, match="float32"):
        frame_distances(features.astype(np.float64))
    with pytest.raises(ValueError, match=r"\(N, d\)"):
        frame_distances(np.ones(5, np.float32))


def test_near_duplicate_jumps_are_exact_and_calls_do_not_leak_into_each_other():
    # frames 40 and 5 are near-duplicates far apart in time: the product's cancellation is worst
    # there, and exactly these pairs become the cheapest jumps. Calls of different shapes one
    # after another (the centred copy's memory is reused) must not see each other's data.
    rng = np.random.default_rng(1)
    big = rng.uniform(90, 160, (60, 1000)).astype(np.float32)
    big[40] = big[5] + rng.normal(0, 0.02, 1000).astype(np.float32)
    small = rng.uniform(0, 255, (9, 300)).astype(np.float32)
    for features in (big, small, big, small[:4, :7]):
        distances = frame_distances(features)
        reference = _reference(features)
        assert np.max(np.abs(distances - reference)) < 1e-3 * reference.max()
    distances = frame_distances(big)
    assert abs(distances[5, 40] / _reference(big)[5, 40] - 1) < 1e-3


def _jump_clip():
    rng = np.random.default_rng(2)
    features = rng.uniform(100, 140, (80, 1300)).astype(np.float32)
    features[50] = features[10] + rng.normal(0, 0.01, 1300).astype(np.float32)  # a near-duplicate jump
    features[60] = features[20]  # an exact duplicate
    return features


def test_parallel_and_serial_passes_agree(monkeypatch):
    # the whole-product path's passes have a serial build (small N) and a parallel one (large N)
    import precompute.distances as module

    monkeypatch.setattr(module, "_SPLIT_MAX_PARTS", 1)
    features = _jump_clip()
    serial = frame_distances(features)
    monkeypatch.setattr(module, "_PARALLEL_MIN_PAIRS", 0)
    parallel = frame_distances(features)
    # the same sums, vectorised independently by each build (reassociation allowed): within 1 ulp
    assert np.allclose(serial, parallel, rtol=3e-7, atol=0) and np.array_equal(serial == 0, parallel == 0)
    assert abs(parallel[10, 50] / _reference(features)[10, 50] - 1) < 1e-3 and parallel[20, 60] == 0


@pytest.mark.parametrize("parts", [2, 3])
def test_product_split_over_threads_by_columns_gives_the_same_distances(monkeypatch, parts):
    # on several cores the product is split by feature columns into partial products on threads
    # (one BLAS thread each); the parts must add up to the whole, hashes and natural steps included
    import precompute.distances as module
    from threadpoolctl import threadpool_info

    features = _jump_clip()
    monkeypatch.setattr(module, "_SPLIT_MAX_PARTS", 1)
    whole = frame_distances(features)
    monkeypatch.setattr(module, "_SPLIT_MAX_PARTS", 8)
    monkeypatch.setattr(module, "_SPLIT_MIN_COLUMNS", 256)
    monkeypatch.setattr(module, "_usable_cores", lambda: parts)
    assert module._split_parts(*features.shape) == parts
    blas_threads = [info["num_threads"] for info in threadpool_info()]
    split = frame_distances(features)
    assert [info["num_threads"] for info in threadpool_info()] == blas_threads  # BLAS threads restored
    reference = _reference(features)
    assert np.array_equal(split, split.T) and np.all(np.diag(split) == 0)
    assert np.max(np.abs(split - whole)) < 1e-4 * reference.max()
    i = np.arange(len(features) - 1)
    assert np.max(np.abs(split[i, i + 1] / reference[i, i + 1] - 1)) < 1e-5  # exact natural steps
    assert abs(split[10, 50] / reference[10, 50] - 1) < 1e-3 and split[20, 60] == 0
    off = ~np.eye(len(features), dtype=bool)
    off[20, 60] = off[60, 20] = False
    assert np.all(split[off] > 0)

"""The sparse path against the dense one: same maths, same arrays, the same best loops."""
import numpy as np
import pytest

from precompute.analysis import analyze_features
from precompute.config import AnalysisConfig
from precompute.distances import frame_distances, rms_scale
from precompute.dynamics import transition_costs
from precompute.errors import ConfigError
from precompute.sparse import SparseConfig, pair_costs, pair_distances, sparse_links
from tests.sparse._clips import link_set, orbit_features

ARRAY_KEYS = ("link_offsets", "link_targets", "link_visual_costs", "link_future_costs",
              "link_probabilities", "future_value", "natural_steps", "loop_sources",
              "loop_targets", "loop_costs", "preview_distances", "preview_filtered")


def dense_costs(x, m, min_jump):
    distances = frame_distances(x.astype(np.float32)) * np.float32(rms_scale(x.shape[1]))
    return distances, transition_costs(distances, m=m, min_jump_frames=min_jump)


@pytest.mark.parametrize("m,min_jump", [(0, 1), (1, 3), (2, 3), (2, 1)])
def test_pair_costs_equal_transition_costs_everywhere(m, min_jump):
    """Every entry, edges and the row past the end included, as the dense filter gives it."""
    x = orbit_features(40, height=6, width=8)
    distances, costs = dense_costs(x, m, min_jump)
    rows, cols = np.divmod(np.arange(40 * 40), 40)
    got = pair_costs(x, rows, cols, m=m, min_jump_frames=min_jump).reshape(40, 40)
    assert np.array_equal(np.isinf(got), np.isinf(costs))
    finite = np.isfinite(costs)
    np.testing.assert_allclose(got[finite], costs[finite], rtol=2e-5, atol=1e-4)
    np.testing.assert_allclose(pair_distances(x, rows, cols).reshape(40, 40), distances,
                               rtol=2e-5, atol=1e-4)


@pytest.mark.parametrize("length", [1, 31, 32, 127, 128, 129, 6913])
def test_uint8_distances_are_exact_at_every_length(length):
    """The vector kernel for uint8 features (128 at a time, then the rest one at a time) gives
    the exact integer sum of squares, the largest differences (255) and the rest included."""
    rng = np.random.default_rng(length)
    x = rng.integers(0, 256, (12, length), dtype=np.uint8)
    x[0], x[1] = 255, 0  # every difference the largest: 255^2 per element
    first = np.array([0, 1] + list(rng.integers(0, 12, 40)))
    second = np.array([1, 0] + list(rng.integers(0, 12, 40)))
    squared = ((x[first].astype(np.int64) - x[second].astype(np.int64)) ** 2).sum(axis=1)
    expected = np.sqrt(squared).astype(np.float32) * np.float32(1.0 / np.sqrt(length))
    assert np.array_equal(pair_distances(x, first, second), expected)
    as_float = pair_distances(x.astype(np.float32), first, second)
    np.testing.assert_allclose(as_float, expected, rtol=1e-6)


@pytest.mark.parametrize("form", ["min", "expected"])
def test_complete_candidates_reproduce_the_dense_analysis(form):
    """With every frame a candidate the sparse graph is the dense matrix: identical links."""
    x = orbit_features(90, height=8, width=12)
    # alpha 0.9: the expected form's sweeps converge well within the pass cap on both paths
    config = AnalysisConfig(future_form=form, alpha=0.9)
    dense, dense_stats = analyze_features(x.astype(np.float32), config)
    sparse, stats = sparse_links(x, config=config,
                                 sparse=SparseConfig(neighbours=90, oversample=1, search="flat"))
    assert set(ARRAY_KEYS) <= set(sparse)
    assert stats["method"] == "sparse"
    assert stats["mean_cost"] == pytest.approx(dense_stats["mean_cost"], rel=1e-5)
    np.testing.assert_allclose(sparse["future_value"], dense["future_value"], rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(sparse["link_offsets"], dense["link_offsets"])
    np.testing.assert_array_equal(sparse["link_targets"], dense["link_targets"])
    np.testing.assert_allclose(sparse["link_probabilities"], dense["link_probabilities"], atol=1e-4)
    np.testing.assert_array_equal(sparse["loop_sources"][:20], dense["loop_sources"][:20])
    np.testing.assert_array_equal(sparse["loop_targets"][:20], dense["loop_targets"][:20])
    for key in ARRAY_KEYS:
        assert sparse[key].dtype == dense[key].dtype, key


def check_agreement(dense, sparse):
    dense_links, sparse_links_ = link_set(dense), link_set(sparse)
    recall = len(dense_links & sparse_links_) / len(dense_links)
    assert recall >= 0.95, f"sparse holds {recall:.1%} of the dense links"
    best = 10
    assert list(zip(sparse["loop_sources"][:best], sparse["loop_targets"][:best])) == \
        list(zip(dense["loop_sources"][:best], dense["loop_targets"][:best]))
    offsets = sparse["link_offsets"]
    sums = np.add.reduceat(sparse["link_probabilities"].astype(np.float64), offsets[:-1])
    np.testing.assert_allclose(sums, 1.0, atol=1e-5)
    assert sparse["link_targets"].dtype == np.int32 and offsets.dtype == np.int64


@pytest.mark.parametrize("search", ["flat", "ivf", "hnsw", "torch"])
def test_sparse_holds_the_dense_links_on_a_recurring_clip(search):
    x = orbit_features(1000)
    config = AnalysisConfig()
    dense, _ = analyze_features(x.astype(np.float32), config)
    sparse, stats = sparse_links(x, config=config, sparse=SparseConfig(search=search))
    assert stats["sparse"]["search"] == search
    check_agreement(dense, sparse)
    # the future cost solves the same equations where the cheapest way on is a candidate
    np.testing.assert_allclose(sparse["future_value"], dense["future_value"], rtol=1e-3, atol=1e-3)


def test_memmap_features_give_the_same_links(tmp_path):
    x = orbit_features(300)
    path = tmp_path / "features.u8"
    x.tofile(path)
    mapped = np.memmap(path, dtype=np.uint8, mode="r", shape=x.shape)
    from_array, _ = sparse_links(x.astype(np.float32))
    from_map, _ = sparse_links(mapped)
    for key in ARRAY_KEYS:
        np.testing.assert_array_equal(from_array[key], from_map[key], err_msg=key)


def test_bad_input_is_refused_with_a_message():
    with pytest.raises(ValueError, match="features must be"):
        sparse_links(np.zeros((1, 5), np.float32))
    with pytest.raises(ConfigError, match="neighbours"):
        SparseConfig(neighbours=0)
    with pytest.raises(ValueError, match="natural_steps"):
        sparse_links(np.zeros((10, 5), np.float32), natural_steps=np.zeros(3, np.float32))


def _shared_features(path, config):
    from precompute.features import frame_feature
    from precompute.video_io import open_clip

    with open_clip(path) as reader:
        return np.stack([frame_feature(frame, feature_width=config.feature_width) for frame in reader])


@pytest.mark.parametrize("name", ["fish_school_on_black_596x336.mp4", "candle_flame_144x144_png",
                                  "clock_pendulum_352x288.mov"])
def test_sparse_agrees_with_dense_on_real_clips(shared_clips, name):
    path = shared_clips / name
    if not path.exists():
        pytest.skip(f"{path} is missing")
    config = AnalysisConfig()
    x = _shared_features(path, config)  # (N, d) float32
    dense, _ = analyze_features(x, config)
    sparse, _ = sparse_links(x, config=config)
    check_agreement(dense, sparse)

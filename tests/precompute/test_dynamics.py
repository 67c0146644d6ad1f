import numpy as np

from precompute import AnalysisConfig, analyze_features, frame_distances, frame_features
from precompute.dynamics import binomial_weights, dynamics_filter, transition_costs
from tests.synthetic import pendulum_frames


def _jumps(arrays, n):
    sources = np.repeat(np.arange(n), np.diff(arrays["link_offsets"]))
    targets = arrays["link_targets"]
    jump = targets != sources + 1
    return sources[jump], targets[jump]


def _reversals(m):
    frames, sign = pendulum_frames()
    features = frame_features(frames, feature_width=64)
    arrays, _ = analyze_features(features, AnalysisConfig(filter_half_taps=m))
    sources, targets = _jumps(arrays, len(frames))
    # jumping i -> j shows j after i: the motion reverses when i's and j's velocities disagree
    reversed_ = (sign[sources] * sign[targets]) < 0
    return int(reversed_.sum()), len(sources)


def test_pendulum_filter_keeps_the_swing_direction():
    reversed_with, total_with = _reversals(2)
    reversed_without, total_without = _reversals(0)
    assert total_with > 0, "the filtered analysis should still find jumps (one per period)"
    assert reversed_with == 0
    assert reversed_without > 0


def test_binomial_weights():
    assert np.allclose(binomial_weights(1), [0.5, 0.5])
    assert np.allclose(binomial_weights(2), np.array([1, 3, 3, 1]) / 8)
    assert np.allclose(binomial_weights(0), [1])


def test_filter_is_diagonal_and_renormalised_at_edges():
    rng = np.random.default_rng(1)
    d = rng.uniform(1, 2, (12, 12)).astype(np.float32)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0)
    d1 = dynamics_filter(d, m=2)
    w = binomial_weights(2)
    i, j = 5, 7
    expected = sum(w[t] * d[i + k, j + k] for t, k in enumerate(range(-2, 2)))
    assert np.isclose(d1[i, j], expected)
    # first row: only taps k = 0, 1 are inside the clip, renormalised
    expected_edge = (w[2] * d[0, 3] + w[3] * d[1, 4]) / (w[2] + w[3])
    assert np.isclose(d1[0, 3], expected_edge)


def test_transition_costs_shift_and_forbidden_moves():
    rng = np.random.default_rng(2)
    d = rng.uniform(1, 2, (10, 10)).astype(np.float32)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0)
    costs = transition_costs(d, m=0, min_jump_frames=3)
    assert costs[4, 9] == d[5, 9] and costs[6, 1] == d[7, 1]  # C[i, j] = D[i+1, j], no filter
    assert np.all(costs[np.arange(9), np.arange(1, 10)] == 0)  # natural steps
    assert np.all(np.isinf(np.diag(costs)))  # no freezing on a frame
    assert np.isinf(costs[4, 6]) and np.isinf(costs[4, 3])  # lands next to the natural successor
    assert np.isfinite(costs[9]).sum() > 0  # the last frame can always jump
    assert costs[9, 5] == d[9, 4]  # past the end: the last frame against j - 1
    filtered = transition_costs(d, m=2)
    assert np.all(np.isinf(filtered[2:, :2]))  # no jump lands where backward taps are missing

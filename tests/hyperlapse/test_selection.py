"""The selection's dynamic programme against a brute-force search, on short clips whose every
path can be enumerated, and the naive baseline."""
from __future__ import annotations

import numpy as np
import pytest

from precompute.hyperlapse import HyperlapseConfig, naive_frames, path_cost, select_frames


def _brute_force(costs, speedup, config, g):
    """The least cost over every path that starts in the first g frames and ends in the last g,
    with steps 1..w, enumerated depth first; the objective written out here on its own:
    sum C_m(i, j) + lambda_s min((j - i - v)^2, tau_s) + lambda_a min((k - k_prev)^2, tau_a)."""
    T, w = costs.shape
    best = [np.inf]

    def extend(frame, previous_step, cost):
        if frame >= T - g and previous_step:
            best[0] = min(best[0], cost)
        for k in range(1, w + 1):
            if frame + k < T and np.isfinite(costs[frame, k - 1]):
                step_cost = costs[frame, k - 1] + config.lambda_velocity * min(
                    (k - speedup) ** 2, config.tau_velocity)
                if previous_step:
                    step_cost += config.lambda_acceleration * min(
                        (k - previous_step) ** 2, config.tau_acceleration)
                extend(frame + k, k, cost + step_cost)

    for start in range(g):
        extend(start, 0, 0.0)
    return best[0]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("speedup", [2.0, 2.5, 3.0])
def test_the_programme_finds_the_least_cost_path(seed, speedup):
    rng = np.random.default_rng(seed)
    T, w, g = 14, 5, 2
    config = HyperlapseConfig(window_frames=6, end_frames=g)
    costs = rng.uniform(0, 400, (T, 6))  # C_m, reference px; some pairs fail to match (gamma)
    costs[rng.random((T, 6)) < 0.25] = 734.0
    costs[:, w:] = np.inf  # the brute force's steps are 1..5: longer ones are not pairs here
    for i in range(T):
        costs[i, T - 1 - i:] = np.inf  # past the clip's end
    selection = select_frames(costs, speedup, config)
    best_cost = _brute_force(costs, speedup, config, g)
    assert selection.cost == pytest.approx(best_cost, rel=1e-9)
    assert path_cost(costs, selection.frames, speedup, config) == pytest.approx(selection.cost, rel=1e-9)
    assert selection.frames[0] < g and selection.frames[-1] >= T - g
    assert np.all(np.diff(selection.frames) >= 1)


def test_a_frame_that_matches_nothing_is_skipped():
    """Uniform costs except one frame no pair into or out of matches: the path goes around it
    and otherwise keeps the speed-up."""
    T, v = 200, 8
    config = HyperlapseConfig()
    costs = np.full((T, config.window_frames), 5.0)
    for i in range(T):
        costs[i, T - 1 - i:] = np.inf
    bad = 100
    costs[bad, :] = 734.0
    for k in range(1, config.window_frames + 1):
        if bad - k >= 0:
            costs[bad - k, k - 1] = 734.0
    selection = select_frames(costs, v, config)
    assert bad not in selection.frames
    assert abs(selection.mean_step - v) / v < 0.05
    assert np.isin(np.diff(selection.frames), [v - 1, v, v + 1]).all()


def test_naive_sampling_takes_every_vth_frame():
    assert naive_frames(25, 8).tolist() == [0, 8, 16, 24]
    assert naive_frames(10, 2.5).tolist() == [0, 2, 5, 8]  # round half to even: 2.5 -> 2
    assert naive_frames(3, 1).tolist() == [0, 1, 2]


def test_out_of_range_speedups_are_refused():
    from precompute.errors import ConfigError

    costs = np.zeros((50, 32))
    with pytest.raises(ConfigError, match="--speedup"):
        select_frames(costs, 17, HyperlapseConfig())
    with pytest.raises(ConfigError, match="--speedup"):
        select_frames(costs, 0.5, HyperlapseConfig())

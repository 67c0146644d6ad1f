import numpy as np

from precompute import AnalysisConfig, analyze_features, frame_distances, frame_features
from tests.synthetic import cycle_frames, dead_end_frames


def _links(frames, **settings):
    features = frame_features(frames, feature_width=64)
    arrays, stats = analyze_features(features, AnalysisConfig(**settings))
    return arrays, stats


def _rows(arrays):
    offsets = arrays["link_offsets"]
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))


def test_period_p_cycle_links_land_on_multiples_of_p_and_duplicates_are_exact():
    period = 10
    frames = cycle_frames(period=period, repeats=6)
    distances = frame_distances(frame_features(frames))
    natural = distances[np.arange(59), np.arange(1, 60)]
    # exact duplicates are exactly 0 apart (a tie between copies must stay a tie)
    duplicates = distances[np.arange(50), np.arange(50) + period]
    assert np.all(duplicates == 0) and natural.min() > 0
    arrays, _ = _links(frames)
    sources, targets = _rows(arrays), arrays["link_targets"]
    assert np.all(np.isfinite(arrays["link_probabilities"]))
    jumps = targets != sources + 1
    assert jumps.sum() >= 20
    # every jump lands where the natural successor would have been, shifted by whole periods
    assert np.all((targets[jumps] - (sources[jumps] + 1)) % period == 0)
    assert np.all(arrays["link_visual_costs"][jumps] == 0)


def test_every_frame_keeps_a_way_on_and_probabilities_sum_to_one():
    arrays, _ = _links(dead_end_frames())
    offsets = arrays["link_offsets"]
    assert np.all(np.diff(offsets) >= 1)
    sums = np.add.reduceat(arrays["link_probabilities"], offsets[:-1])
    assert np.allclose(sums, 1, atol=1e-5)
    assert arrays["link_targets"].dtype == np.int32


def _play(arrays, steps, seed=0):
    rng = np.random.default_rng(seed)
    offsets, targets, probs = arrays["link_offsets"], arrays["link_targets"], arrays["link_probabilities"]
    cumulative = [np.cumsum(probs[offsets[i]:offsets[i + 1]]) for i in range(len(offsets) - 1)]
    draws = rng.random(steps)
    frame, visited = 0, np.empty(steps, np.int64)
    for t in range(steps):
        row = cumulative[frame]
        k = min(int(np.searchsorted(row, draws[t] * row[-1], side="right")), len(row) - 1)
        frame = int(targets[offsets[frame] + k])
        visited[t] = frame
    return visited


def test_dead_end_random_play_never_runs_off_or_gets_stuck():
    frames = dead_end_frames(period=20, repeats=4, tail=30)
    n = len(frames)
    arrays, _ = _links(frames)
    visited = _play(arrays, 100_000)
    assert visited.min() >= 0 and visited.max() < n  # never runs off the end
    # never stuck: play keeps moving and keeps coming back to the start of the clip
    assert np.all(visited[1:] != visited[:-1])
    assert np.sum(visited < 20) > 10_000
    # the future cost steers away from the dead end: the tail is rarely entered
    assert np.mean(visited >= 80) < 0.05


def test_a_dead_end_tail_is_excluded_and_said():
    """The last 30 frames are unlike the rest: no jump that does not show leads back out of them,
    so they are not playable (said in the stats), play never enters them, and the frames before
    them leave through the future cost's jumps back."""
    frames = dead_end_frames(period=20, repeats=4, tail=30)
    arrays, stats = _links(frames)
    playable = arrays["playable"]
    assert not playable[80:].any() and playable[2:78].all()
    assert stats["excluded_frames"][-1][1] == len(frames) - 1
    visited = _play(arrays, 20_000)
    assert not np.any(visited >= 80)
    assert np.all(playable[visited[100:]])

import numpy as np
import pytest

from engine.transitions import blend_at, blend_schedule, merge_blends
from precompute.errors import ConfigError


def weights_of(blend, frame):
    return sum(w for f, w in blend if f == frame)


def test_no_jump_is_single_frames():
    schedule = blend_schedule(np.arange(10, 20))
    assert schedule == [[(f, 1.0)] for f in range(10, 20)]


def test_isolated_jump_crossfade_is_centred_and_sums_to_one():
    # 0..9 then a jump 9 -> 40 (t = 9): frames 40.. afterwards
    path = np.concatenate([np.arange(0, 10), np.arange(40, 50)])
    schedule = blend_schedule(path, fade_frames=4, n_frames=60)
    for blend in schedule:
        assert abs(sum(w for _, w in blend) - 1.0) < 1e-12
        assert all(w > 0 for _, w in blend)
    t = 9
    new = [weights_of(schedule[s], 40 + (s - 10)) for s in range(t - 1, t + 3)]
    np.testing.assert_allclose(new, [1 / 8, 3 / 8, 5 / 8, 7 / 8])
    # half-way at the jump: the two frames around it are mirror images
    assert weights_of(schedule[t], 39) + weights_of(schedule[t + 1], 40) == pytest.approx(1.0)
    # the old stream continues past the jump (what the clip would have shown), the new one
    # starts before it
    assert dict(schedule[t + 1]) == pytest.approx({10: 3 / 8, 40: 5 / 8})
    assert dict(schedule[t - 1]) == pytest.approx({8: 7 / 8, 38: 1 / 8})
    assert schedule[t - 2] == [(7, 1.0)] and schedule[t + 3] == [(42, 1.0)]
    assert sum(len(b) > 1 for b in schedule) == 4


def test_cut_and_odd_fade():
    path = np.concatenate([np.arange(0, 10), np.arange(40, 50)])
    assert all(len(b) == 1 for b in blend_schedule(path, fade_frames=0))
    assert all(len(b) == 1 for b in blend_schedule(path, fade_frames=1))
    assert sum(len(b) > 1 for b in blend_schedule(path, fade_frames=3, n_frames=60)) == 2


def test_overlapping_fades_blend_three_ways():
    path = np.array([0, 1, 2, 3, 20, 21, 40, 41, 42, 43, 44])  # jumps at t = 3 and t = 5
    schedule = blend_schedule(path, fade_frames=4, n_frames=60)
    assert max(len(b) for b in schedule) == 3
    for blend in schedule:
        assert abs(sum(w for _, w in blend) - 1.0) < 1e-12 and all(w > 0 for _, w in blend)
    # position 4 is between both jumps: old 0.. stream (4), middle (20), new (38)
    w_old = 1 - (4 - 3.5) / 4 - 0.5  # 1 - R(0.5)
    w_new = (4 - 5.5) / 4 + 0.5  # R(-1.5)
    assert dict(schedule[4]) == pytest.approx({4: w_old, 20: 1 - w_old - w_new, 38: w_new})


def test_cyclic_wrap_is_a_jump():
    path = np.arange(10, 20)  # a loop 10..19 then back to 10
    schedule = blend_schedule(path, fade_frames=4, cyclic=True, n_frames=30)
    # wrap jump between position 9 (frame 19) and position 0 (frame 10)
    assert dict(schedule[0]) == pytest.approx({20: 3 / 8, 10: 5 / 8})
    assert dict(schedule[9]) == pytest.approx({19: 5 / 8, 9: 3 / 8})
    assert schedule[4] == [(14, 1.0)]
    # a loop whose wrap is a natural step (4 -> 5) fades only at its one jump (7 -> 3)
    natural_wrap = blend_schedule(np.array([5, 6, 7, 3, 4]), fade_frames=2, cyclic=True, n_frames=10)
    assert [len(b) for b in natural_wrap] == [1, 1, 2, 2, 1]
    # without n_frames, the continuation is clamped to the frames the path holds
    clamped = blend_schedule(path, fade_frames=4, cyclic=True)
    assert max(f for b in clamped for f, _ in b) <= 19


def test_window_and_whole_path_agree():
    rng = np.random.default_rng(3)
    path = [5]
    for _ in range(200):
        path.append(path[-1] + 1 if rng.random() < 0.7 else int(rng.integers(0, 100)))
    path = np.minimum(np.array(path), 99)
    whole = blend_schedule(path, fade_frames=4, n_frames=100)
    for s in range(3, 197):
        window = path[s - 3: s + 4]
        assert blend_at(window, 3, fade_frames=4, n_frames=100) == whole[s]


def test_merge_and_errors():
    merged = dict(merge_blends([(1, 1.0)], [(2, 0.5), (1, 0.5)], 0.5))
    assert merged == pytest.approx({1: 0.75, 2: 0.25})
    with pytest.raises(ConfigError):
        blend_schedule(np.array([1.5, 2.5]))
    with pytest.raises(ConfigError):
        blend_schedule(np.array([1, 2]), n_frames=2)

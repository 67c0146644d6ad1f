"""precompute.loops: primitive selection, the dynamic programme against brute force, scheduling,
and the loops found on clips whose best loop is known."""

import numpy as np
import pytest

from export_synthetic import PERIOD
from precompute.loops import (LoopConfig, compound_loop, find_loop, is_playable,
                              loop_table, schedule_loop, select_primitive_loops)


def random_primitives(rng, k_count, n_frames, max_length):
    sources = rng.integers(1, n_frames, k_count)
    lengths = rng.integers(2, max_length + 1, k_count)
    targets = np.maximum(sources - lengths + 1, 0)
    costs = np.round(rng.random(k_count) * 10, 1)  # coarse values: ties happen, as on real clips
    return select_primitive_loops(sources, targets, costs, max_primitives=k_count, min_length=1)


def connected(primitives, members):
    """Is the overlap graph of these primitive indices connected?"""
    members = sorted(set(members))
    seen, todo = {members[0]}, [members[0]]
    while todo:
        a = todo.pop()
        for b in members:
            if b not in seen and max(primitives.targets[a], primitives.targets[b]) <= \
                    min(primitives.sources[a], primitives.sources[b]):
                seen.add(b)
                todo.append(b)
    return len(seen) == len(members)


def brute_force(primitives, max_length):
    """(L+1, K) cheapest connected multiset of exactly l frames containing k, by enumeration."""
    k_count = len(primitives)
    best = np.full((max_length + 1, k_count), np.inf)
    lengths = primitives.lengths

    def grow(start, counts, length, cost):
        if length > 0:
            members = [k for k in range(k_count) if counts[k]]
            if connected(primitives, members):
                for k in members:
                    best[length, k] = min(best[length, k], cost)
        for k in range(start, k_count):
            if length + lengths[k] <= max_length:
                counts[k] += 1
                grow(k, counts, length + lengths[k], cost + primitives.costs[k])
                counts[k] -= 1

    grow(0, [0] * k_count, 0, 0.0)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_dynamic_programme_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    primitives = random_primitives(rng, k_count=5, n_frames=30, max_length=8)
    table = loop_table(primitives, 16)
    expected = brute_force(primitives, 16)
    np.testing.assert_allclose(table.cost, expected)
    # and the loop read back from the table has that length and cost
    for length in range(1, 17):
        for k in range(len(primitives)):
            if np.isfinite(expected[length, k]):
                counts = compound_loop(table, length, k)
                assert counts[k] >= 1
                assert int(np.sum(counts * primitives.lengths)) == length
                assert np.isclose(np.sum(counts * primitives.costs), expected[length, k])
                assert connected(primitives, np.flatnonzero(counts))


def test_primitive_selection_by_average_cost():
    # average costs: 1/10, 3/4, 0.5/2, 2/40, a forward "loop" is refused, a duplicate kept once
    sources = np.array([19, 7, 3, 49, 49], np.int32)
    targets = np.array([10, 4, 2, 10, 10], np.int32)
    costs = np.array([1.0, 3.0, 0.5, 2.0, 2.0], np.float32)
    chosen = select_primitive_loops(sources, targets, costs, max_primitives=3, min_length=2)
    assert list(zip(chosen.sources, chosen.targets)) == [(49, 10), (19, 10), (3, 2)]
    np.testing.assert_array_equal(chosen.lengths, [40, 10, 2])
    with pytest.raises(ValueError, match="not a backward jump"):
        select_primitive_loops(np.array([3]), np.array([5]), np.array([1.0]))


@pytest.mark.parametrize("seed", range(20))
def test_schedule_is_playable_with_the_loop_length(seed):
    rng = np.random.default_rng(100 + seed)
    primitives = random_primitives(rng, k_count=6, n_frames=40, max_length=15)
    table = loop_table(primitives, 60)
    possible = np.flatnonzero(np.isfinite(table.cost.min(axis=1)))
    for length in rng.choice(possible, size=min(5, possible.size), replace=False):
        counts = compound_loop(table, int(length))
        frames = schedule_loop(primitives.sources, primitives.targets, counts)
        assert frames.dtype == np.int32 and frames.shape == (length,)
        assert is_playable(frames, primitives.sources, primitives.targets)
        # every jump used exactly as often as its primitive loop (the wrap's included)
        following = np.roll(frames, -1)
        jumps = [(int(a), int(b)) for a, b in zip(frames, following) if b != a + 1]
        for k in np.flatnonzero(counts):
            pair = (int(primitives.sources[k]), int(primitives.targets[k]))
            same = [m for m in np.flatnonzero(counts) if
                    (int(primitives.sources[m]), int(primitives.targets[m])) == pair]
            assert jumps.count(pair) == sum(int(counts[m]) for m in same)


def test_schedule_refuses_disjoint_loops():
    with pytest.raises(ValueError, match="do not overlap"):
        schedule_loop([5, 20], [2, 15], [1, 1])


def test_schedule_of_the_paper_example_starts_at_the_latest_jump():
    # loops 9->3 and 6->0 overlap on 3..6: play 3..9, jump to 3, ... one valid 14-frame cycle
    frames = schedule_loop([9, 6], [3, 0], [1, 1])
    assert frames[0] == 3 and frames.shape == (14,)
    assert sorted(frames.tolist()) == sorted(list(range(3, 10)) + list(range(0, 7)))
    assert is_playable(frames, [9, 6], [3, 0])


def test_periodic_clip_loops_on_multiples_of_the_period(periodic_analysis):
    a = periodic_analysis
    for target in (24, 34, 46, 60):
        loop = find_loop(a.loop_sources, a.loop_targets, a.loop_costs, target_length=target)
        assert loop.length % PERIOD == 0, (target, loop.length)
        assert abs(loop.length - target) <= 0.1 * target
        assert loop.cost == pytest.approx(0.0, abs=1e-4)
        assert is_playable(loop.frames, loop.primitives.sources, loop.primitives.targets)


def test_known_best_loop_is_found(known_loop_analysis):
    a = known_loop_analysis
    loop = find_loop(a.loop_sources, a.loop_targets, a.loop_costs, target_length=40)
    assert loop.jumps == ((49, 10),)
    assert loop.length == 40
    assert sorted(loop.frames.tolist()) == list(range(10, 50))
    assert loop.cost == pytest.approx(0.0, abs=1e-4)
    # asked for 38 frames, 40 is within 10%: still the same loop
    assert find_loop(a.loop_sources, a.loop_targets, a.loop_costs, target_length=38).jumps == ((49, 10),)


def test_no_loop_in_range_says_what_is_possible():
    with pytest.raises(ValueError, match="possible lengths"):
        find_loop(np.array([10]), np.array([1]), np.array([0.5]), target_length=5,
                  config=LoopConfig(length_tolerance=0.0))

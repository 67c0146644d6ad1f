"""The link graph core (precompute/graph.py): no traps, endless varied play, one core for both
paths. Synthetic clips whose right answer is known: a clip that ends in a stretch unlike the rest
(the trap of round 1), two unrelated scenes cut together, and random cost tables."""
import numpy as np
import pytest

from precompute import AnalysisConfig, analyze_features, frame_features
from precompute.errors import AnalysisError
from precompute.graph import check_link_graph, select_links
from precompute.links import dense_candidates
from tests.synthetic import cycle_frames, disc_frames, textured_background

FPS = 30.0


def _rows(offsets):
    return np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))


def _play(arrays, steps, *, start, seed=0):
    """Random play by the saved probabilities, as the player samples them: (steps,) frames."""
    rng = np.random.default_rng(seed)
    offsets, targets = arrays["link_offsets"], arrays["link_targets"]
    cumulative = np.cumsum(arrays["link_probabilities"].astype(np.float64))
    before = np.concatenate(([0.0], cumulative[offsets[1:-1] - 1]))
    cumulative -= np.repeat(before, np.diff(offsets))  # per-row cumulative sums
    draws = rng.random(steps)
    frame, visited = start, np.empty(steps, np.int64)
    for t in range(steps):
        lo, hi = offsets[frame], offsets[frame + 1]
        row = cumulative[lo:hi]
        k = min(int(np.searchsorted(row, draws[t] * row[-1], side="right")), hi - lo - 1)
        frame = int(targets[lo + k])
        visited[t] = frame
    return visited


def _worst_window_share(path, window, stride):
    """quality.py's trap figure: over windows of `window` frames, the fewest distinct frames shown,
    as a share of the window."""
    counts = np.zeros(path.max() + 1, np.int64)
    distinct = 0
    worst = 1.0
    for t, frame in enumerate(path):
        distinct += counts[frame] == 0
        counts[frame] += 1
        if t >= window:
            old = path[t - window]
            counts[old] -= 1
            distinct -= counts[old] == 0
        if t >= window - 1 and (t - window + 1) % stride == 0:
            worst = min(worst, distinct / window)
    return worst


def trap_frames(body: int = 240, tail: int = 12, seed: int = 3):
    """A disc orbiting with a slowly drifting radius over a textured background (the body: jumps
    to other laps), then a short stretch of another scene with hardly any motion (the tail): its
    frames look alike, so short jumps back within it are cheap, and nothing outside looks like
    it. Round 1 ended play here: the last frame's only link was a short jump back into the tail."""
    t = np.arange(body)
    radius = 0.28 + 0.04 * np.sin(t / 37.0)
    centres = [(32 + 64 * r * np.cos(2 * np.pi * k / 23.0), 24 + 48 * r * np.sin(2 * np.pi * k / 23.0))
               for k, r in zip(t, radius)]
    main = disc_frames(centres, height=48, width=64, seed=seed)
    rng = np.random.default_rng(seed)
    still = textured_background(48, 64, seed=seed + 50)[None].astype(np.float64)
    tail_frames = still + rng.normal(0, 2.0, (tail, 48, 64, 3))
    return np.concatenate([main, tail_frames.clip(0, 255).round().astype(np.uint8)])


def test_a_trap_at_the_clip_end_is_excluded_and_play_never_circles():
    frames = trap_frames()
    n = len(frames)
    arrays, stats = analyze_features(frame_features(frames, feature_width=64), AnalysisConfig(), fps=FPS)
    playable = arrays["playable"]
    assert not playable[-12:].any(), "the tail has no acceptable way out: it is not played"
    assert stats["excluded_frames"][-1] == [int(np.flatnonzero(playable)[-1]) + 1, n - 1]
    check_link_graph(arrays["link_offsets"], arrays["link_targets"], arrays["link_probabilities"],
                     playable)
    start = int(np.argmax(playable))
    window = min(n, int(10 * FPS))
    path = _play(arrays, 100_000, start=start)
    assert playable[path].all(), "play never enters an excluded frame"
    # round 1 scored 0.02 here (a 5-frame cycle). Over 100,000 steps the worst of ~4,000 windows
    # is 0.40-0.44 (seeds 0-2; 0.397 once): a skip ahead, a second skip to the last stretch and
    # the way back from there make a three-jump cycle that play can take a few times in a row
    assert _worst_window_share(path, window, stride=window // 10) >= 0.35
    for seed in (1, 2, 3):  # the goal, as ../shared/tools/quality.py measures it: 3000 frames
        path = _play(arrays, 3000, start=start, seed=seed)
        assert _worst_window_share(path, window, stride=window // 10) >= 0.4
        jumps = np.count_nonzero(path[1:] != path[:-1] + 1)
        assert jumps / (len(path) / FPS / 2) >= 1.0, "at least one jump per 2 s"
        assert np.unique(path).size >= 0.7 * n


@pytest.mark.parametrize("larger_first", [True, False])
def test_two_unrelated_scenes_keep_the_larger_and_say_so(larger_first):
    big = cycle_frames(period=12, repeats=6, seed=1)  # 72 frames
    small = (255 - cycle_frames(period=9, repeats=3, seed=5)).astype(np.uint8)  # 27 frames, unlike it
    frames = np.concatenate([big, small] if larger_first else [small, big])
    arrays, stats = analyze_features(frame_features(frames, feature_width=64), AnalysisConfig(), fps=FPS)
    playable = arrays["playable"]
    big_range = slice(0, 72) if larger_first else slice(27, 99)
    small_range = slice(72, 99) if larger_first else slice(0, 27)
    assert not playable[small_range].any()
    # all of the larger scene but the two lead-in frames no jump lands on, and (when it comes
    # first) its last frame, whose every jump is judged against the other scene's first frame
    assert playable[big_range].sum() >= 72 - 3
    excluded = {f for a, b in stats["excluded_frames"] for f in range(a, b + 1)}
    assert set(range(99)[small_range]) <= excluded
    start = int(np.argmax(playable))
    path = _play(arrays, 20_000, start=start)
    assert playable[path].all()


def _random_table(rng, n, density):
    """A random cost table with the shape of a real one: natural steps cost 0, jumps cost 0.5-3
    natural steps, some forbidden; a random subset of it as sparse candidates (CSR)."""
    costs = rng.uniform(0.5, 3.0, (n, n)).astype(np.float32)
    costs[rng.random((n, n)) > density] = np.inf
    idx = np.arange(n)
    costs[idx, idx] = np.inf
    costs[:, :2] = np.inf
    costs[idx[:-1], idx[:-1] + 1] = 0.0
    return costs


def _config():
    return AnalysisConfig(min_cycle_share=0.2)


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # the property test needs hypothesis (a test extra)
    given = None


if given is not None:
    @settings(max_examples=25, deadline=None)
    @given(n=st.integers(8, 30), density=st.floats(0.2, 1.0), seed=st.integers(0, 10_000),
           keep=st.floats(0.3, 1.0))
    def test_any_table_gives_one_closed_class_with_rows_summing_to_one(n, density, seed, keep):
        rng = np.random.default_rng(seed)
        costs = _random_table(rng, n, density)
        value = rng.uniform(0, 1, n)
        natural = rng.uniform(0.8, 1.2, n - 1)
        offsets, targets, visual = dense_candidates(costs, value, alpha=0.99, power=1.0)
        # a random sparse subset of the candidates (the natural steps always stay)
        rows = _rows(offsets)
        chosen = (targets == rows + 1) | (rng.random(targets.size) < keep)
        sub_offsets = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(rows[chosen], minlength=n), out=sub_offsets[1:])
        for table in ((offsets, targets, visual), (sub_offsets, targets[chosen], visual[chosen])):
            try:
                links, playable, _ = select_links(*table, value, natural, config=_config(),
                                                  sigma=0.2, median_step=1.0, fps=FPS)
            except AnalysisError as error:  # allowed only when nothing can be returned to
                assert "no frame" in str(error)
                continue
            check_link_graph(links["link_offsets"], links["link_targets"],
                             links["link_probabilities"], playable)
            sums = np.add.reduceat(links["link_probabilities"].astype(np.float64),
                                   links["link_offsets"][:-1])
            np.testing.assert_allclose(sums, 1.0, atol=1e-5)


def test_dense_and_sparse_candidates_give_the_same_chain():
    """The dense path's candidates and the sparse path's, from the same full table, are the same
    set, and the one core turns them into the same chain."""
    from precompute.sparse import _candidates

    rng = np.random.default_rng(4)
    n = 30
    costs = _random_table(rng, n, 0.7)
    value = rng.uniform(0, 1, n)
    natural = rng.uniform(0.8, 1.2, n - 1)
    dense = dense_candidates(costs, value, alpha=0.99, power=1.0, max_candidates=32)
    rows, cols = np.divmod(np.arange(n * n), n)  # every entry, forbidden ones (inf) included
    full_offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=full_offsets[1:])
    sparse = _candidates(full_offsets, cols.astype(np.int64), costs[rows, cols], value, alpha=0.99,
                         power=1.0, min_jump=1, first_target=0, restless=np.zeros(n, np.bool_),
                         max_candidates=32)
    for a, b in zip(dense, sparse):
        np.testing.assert_array_equal(a, b)
    one = select_links(*dense, value, natural, config=_config(), sigma=0.2, median_step=1.0, fps=FPS)
    two = select_links(*sparse, value, natural, config=_config(), sigma=0.2, median_step=1.0, fps=FPS)
    for key in one[0]:
        np.testing.assert_array_equal(one[0][key], two[0][key], err_msg=key)
    np.testing.assert_array_equal(one[1], two[1])


def test_a_saved_graph_with_a_trap_is_refused():
    offsets = np.array([0, 1, 2, 3, 4])
    targets = np.array([1, 2, 3, 2])  # 2 -> 3 -> 2: frames 0 and 1 are never returned to
    probabilities = np.ones(4, np.float32)
    with pytest.raises(AnalysisError, match="strongly connected"):
        check_link_graph(offsets, targets, probabilities, np.ones(4, bool))
    check_link_graph(offsets, targets, probabilities, np.array([False, False, True, True]))
    with pytest.raises(AnalysisError, match="leave the playable"):
        check_link_graph(offsets, targets, probabilities, np.array([False, True, True, False]))


def test_a_clip_that_is_one_whole_cycle_plays_over_its_seam():
    """An exactly looping clip (the last frame steps to the first as to a next frame): the seam
    is a link, the frames no other jump may land on are played, and the player shows the seam
    as the natural step it is, not as a crossfade."""
    from engine.playback import Playback, PlaybackConfig
    from engine.texture import VideoTexture

    angles = 2 * np.pi * np.arange(40) / 40  # one lap of a disc: frame 39 -> 0 is a plain step
    frames = disc_frames([(32 + 18 * np.cos(a), 24 + 14 * np.sin(a)) for a in angles],
                         height=48, width=64, seed=2)
    arrays, stats = analyze_features(frame_features(frames, feature_width=64), AnalysisConfig(), fps=FPS)
    assert stats["cyclic"] and arrays["playable"].all()
    sources, targets = _rows(arrays["link_offsets"]), arrays["link_targets"]
    assert np.any((sources == 39) & (targets == 0))
    texture = VideoTexture.from_arrays(frames, link_offsets=arrays["link_offsets"],
                                       link_targets=targets,
                                       link_future_costs=arrays["link_future_costs"], fps=FPS,
                                       sigma=stats["sigma"], playable=arrays["playable"],
                                       cyclic=stats["cyclic"])
    playback = Playback(texture, PlaybackConfig(seed=1))
    blends = []
    for _ in range(400):
        blends.append(playback.current_blend())
        playback.step(1)
    shown = [max(b, key=lambda pair: pair[1])[0] for b in blends]
    seams = [t for t in range(len(shown) - 1) if shown[t] == 39 and shown[t + 1] == 0]
    assert seams, "play goes over the seam"
    for t in seams:  # no crossfade around the seam: single frames
        assert all(len(blends[k]) == 1 for k in range(max(0, t - 2), min(len(blends), t + 3)))
    assert {0, 1} <= set(shown)


def test_no_jump_lands_where_play_must_jump_again_and_no_frame_always_jumps():
    """Two jumps within one crossfade blend three streams (and look like one jump): no jump lands
    on the last frames of the class, from which play must jump again within the fade. And a
    frame that keeps its natural step jumps with at most max_jump_probability (0.5), so no frame
    plays the same skip every time it is reached."""
    frames = trap_frames()
    config = AnalysisConfig()
    arrays, stats = analyze_features(frame_features(frames, feature_width=64), config, fps=FPS)
    playable = arrays["playable"]
    sources, targets = _rows(arrays["link_offsets"]), arrays["link_targets"]
    jumps = playable[sources] & (targets != sources + 1)
    last = int(np.flatnonzero(playable)[-1])  # the class ends here (its tail is excluded)
    reach = int(np.ceil(config.fade_frames / 2)) + 1
    assert np.all(targets[jumps] <= last - reach)
    natural = targets == sources + 1
    has_natural = np.zeros(len(frames), bool)
    has_natural[sources[natural]] = True
    jump_probability = np.zeros(len(frames))
    np.add.at(jump_probability, sources[jumps], arrays["link_probabilities"][jumps])
    rows = playable & has_natural
    assert jump_probability[rows].max() <= config.max_jump_probability + 1e-4


def test_a_stretch_only_relaxed_jumps_enter_is_played_again_not_only_at_the_start():
    """Footage that drifts (the shared night lights): its first stretch looks like nothing later,
    so only jumps beyond the cost limit enter it, and play leaves it by its natural steps. The
    limit is relaxed so that the stretch joins the class, but relaxed jumps pay a penalty, and
    where a frame has only its natural step and such a jump, the jump was never taken: the
    stretch was a member in name only, shown once from the start (a third of this clip)."""
    from precompute.graph import _stationary

    rng = np.random.default_rng(7)
    n, head = 90, 30
    costs = np.full((n, n), np.inf, np.float32)
    body = np.arange(head, n)
    costs[np.ix_(body, body)] = rng.uniform(0.8, 1.5, (body.size, body.size))  # good jumps
    costs[np.ix_(body, np.arange(head))] = rng.uniform(2.8, 3.2, (body.size, head))  # into the head
    costs[70:80, head:] = np.inf  # these frames' only jumps go to the head
    idx = np.arange(n)
    costs[idx, idx] = np.inf
    costs[idx[:-1], idx[:-1] + 1] = 0.0
    value = np.zeros(n)
    natural = rng.uniform(0.6, 1.6, n - 1)
    links, playable, stats = select_links(*dense_candidates(costs, value, alpha=0.99, power=1.0),
                                          value, natural, config=_config(), sigma=0.2,
                                          median_step=float(np.median(natural)), fps=FPS)
    assert stats["visibility_relaxed_by"] > 1.0, "the head joins only through relaxed jumps"
    assert playable[2:head].all(), "the head is in the class"
    mass = _stationary(links["link_offsets"], links["link_targets"],
                       links["link_probabilities"].astype(np.float64), playable)
    assert mass[:head].sum() >= 0.002, "long-run play spends time in the head (0 before)"
    path = _play(links, 50_000, start=int(np.argmax(playable)), seed=1)  # ~28 min at 30 fps
    returns = np.count_nonzero((path[1:] < head) & (path[:-1] >= head))
    assert returns >= 5, "play enters the head again after the start (never before)"


def test_the_long_run_share_of_play_of_a_long_clip_is_solved_not_approximated(monkeypatch):
    """Above DIRECT_STATIONARY frames the share of play at each frame comes from sweeps in frame
    order: play moves mostly i -> i + 1, so 400 power steps (one frame each) leave much of the
    mass where it started, and where long clips' starved stretches are judged by that share."""
    from precompute import graph

    n = 8000
    rows = [[(i + 1) % n] for i in range(n)]
    probabilities = [[1.0] for _ in range(n)]
    for i in range(5000, n):  # the clip's last stretch jumps back 3000 frames now and then
        rows[i].append(i - 3000)
        probabilities[i] = [0.97, 0.03]
    offsets = np.concatenate([[0], np.cumsum([len(r) for r in rows])]).astype(np.int64)
    targets = np.concatenate(rows).astype(np.int32)
    chain = np.concatenate(probabilities).astype(np.float32)
    members = np.ones(n, bool)
    assert n > graph.DIRECT_STATIONARY
    swept = graph._stationary(offsets, targets, chain, members)
    monkeypatch.setattr(graph, "DIRECT_STATIONARY", n)
    exact = graph._stationary(offsets, targets, chain, members)  # one sparse LU
    assert np.abs(swept - exact).sum() < 1e-4
    assert exact[2000:5000].mean() > 2.0 * exact[:2000].mean()  # a share far from even
    # the measure can fail: 400 lazy power steps from the even share
    from scipy.sparse import csr_matrix

    transposed = csr_matrix((chain.astype(np.float64), targets, offsets), shape=(n, n)).T.tocsr()
    power = np.full(n, 1.0 / n)
    for _ in range(400):
        power = 0.5 * (power + transposed @ power)
    assert np.abs(power - exact).sum() > 0.05

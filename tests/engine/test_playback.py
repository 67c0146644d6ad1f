import math

import numpy as np
import pytest

from engine.playback import Playback, PlaybackConfig
from engine.texture import VideoTexture
from precompute.errors import ConfigError
from tests.engine.textures import coloured_frames


def chi_square_quantile_999(df: int) -> float:
    """0.999 quantile of chi-square by the Wilson-Hilferty approximation (z_0.999 = 3.0902),
    within 0.2% of the tabulated values for df >= 10 (e.g. df=80: 124.84 tabulated)."""
    z = 3.0902
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def played_frames(playback: Playback, steps: int) -> list[int]:
    frames = [playback.current_frame]
    for _ in range(steps):
        playback.step()
        frames.append(playback.current_frame)
    return frames


def test_transition_frequencies_match_link_probabilities(chain):
    playback = Playback(chain, PlaybackConfig(seed=11, fade_frames=0))
    frames = np.array(played_frames(playback, 28_000))
    n = chain.n_frames
    probabilities = chain.link_probabilities().reshape(n, 3)  # [4/7, 2/7, 1/7] on every row
    observed = np.zeros((n, 3))
    for column, offset in enumerate((1, 7, 17)):
        moved = (frames[1:] - frames[:-1]) % n == offset
        observed[:, column] = np.bincount(frames[:-1][moved], minlength=n)
    visits = observed.sum(axis=1, keepdims=True)
    assert visits.sum() == len(frames) - 1  # every step was one of the links
    expected = visits * probabilities
    statistic = float(((observed - expected) ** 2 / expected).sum())
    df = n * 2
    assert statistic < chi_square_quantile_999(df), statistic
    # and a chain that ignored probabilities (uniform choice) would fail the same test
    uniform = visits / 3
    assert float(((observed - uniform) ** 2 / uniform).sum()) > chi_square_quantile_999(df)


def test_same_seed_same_sequence(chain):
    a = played_frames(Playback(chain, PlaybackConfig(seed=5)), 500)
    b = played_frames(Playback(chain, PlaybackConfig(seed=5)), 500)
    c = played_frames(Playback(chain, PlaybackConfig(seed=6)), 500)
    assert a == b and a != c
    playback = Playback(chain, PlaybackConfig(seed=5))
    played_frames(playback, 100)
    playback.restart()
    assert played_frames(playback, 500) == a
    playback.restart(seed=6)
    assert played_frames(playback, 500) == c


def test_play_never_stops():
    # frames 0..29, natural steps only, and the last frame has no natural step: one jump back
    n = 30
    targets = np.append(np.arange(1, n), 12)
    texture = VideoTexture.from_arrays(coloured_frames(n), link_offsets=np.arange(n + 1),
                                       link_targets=targets, link_future_costs=np.zeros(n, np.float32),
                                       fps=30, sigma=1.0)
    playback = Playback(texture, PlaybackConfig(seed=1))
    seen = []
    for _ in range(3000):
        playback.update(1 / 30)
        blend = playback.current_blend()
        assert abs(sum(w for _, w in blend) - 1) < 1e-9
        assert all(0 <= f < n for f, _ in blend)
        seen.append(playback.current_frame)
    assert playback.position == pytest.approx(3000)
    assert set(seen[100:]) == set(range(12, n))  # loops 12..29 for ever


def jump_rate(texture, variety: float) -> float:
    frames = np.array(played_frames(Playback(texture, PlaybackConfig(seed=2, variety=variety)), 4000))
    return float(np.mean(frames[1:] != frames[:-1] + 1))


def test_raising_variety_raises_jump_rate(chain):
    # at variety v the jump probability is (2^-1/v + 4^-1/v) / (1 + 2^-1/v + 4^-1/v)
    rates = [jump_rate(chain, v) for v in (0.25, 1.0, 4.0)]
    assert rates[0] < rates[1] < rates[2]
    assert rates[1] == pytest.approx(3 / 7, abs=0.03)


def test_variety_applies_at_once(chain):
    playback = Playback(chain, PlaybackConfig(seed=3, variety=1.0))
    played_frames(playback, 50)
    playback.set_variety(0.01)  # exp(-ln2 / 0.01): jumps all but impossible
    frames = np.array(played_frames(playback, 400))
    # only the frames chosen before the change (the look-ahead: 3 positions) may still jump
    assert np.all(frames[4:][1:] == (frames[4:][:-1] + 1) % chain.n_frames)


def range_texture(n: int = 100) -> VideoTexture:
    """Natural steps everywhere; from every 10th frame i = 10k+9 a jump back to 10k (a loop of 10
    frames, cost 0.5 sigma) and one jump ahead to 10k+20 (cost 0.5 sigma)."""
    offsets, targets, costs = [0], [], []
    for i in range(n):
        targets.append((i + 1) % n)
        costs.append(0.0)
        if i % 10 == 9:
            targets += [i - 9, (i + 11) % n]
            costs += [1.0, 1.0]
        offsets.append(len(targets))
    return VideoTexture.from_arrays(coloured_frames(n), link_offsets=np.array(offsets),
                                    link_targets=np.array(targets),
                                    link_future_costs=np.array(costs, np.float32), fps=30, sigma=2.0)


def test_range_brings_play_in_and_keeps_it_there():
    texture = range_texture()
    playback = Playback(texture, PlaybackConfig(seed=4))
    played_frames(playback, 50)
    playback.set_frame_range((60, 80))
    frames = np.array(played_frames(playback, 3000))
    inside = (frames >= 60) & (frames < 80)
    arrival = int(np.argmax(inside))
    assert 0 < arrival < 100  # about 5 loops of 10 frames at most, reached through the jumps
    assert inside[arrival:].all()
    # the range is left again when cleared
    playback.set_frame_range(None)
    frames = np.array(played_frames(playback, 3000))
    assert not ((frames >= 60) & (frames < 80)).all()


def test_speed_changes_mean_advance_per_output_frame():
    n = 1000  # a straight run, long enough not to wrap
    texture = VideoTexture.from_arrays(coloured_frames(n, 4, 4), link_offsets=np.arange(n + 1),
                                       link_targets=(np.arange(n) + 1) % n,
                                       link_future_costs=np.zeros(n, np.float32), fps=30, sigma=1.0)
    for speed in (0.5, 1.0, 2.0, 3.0):
        playback = Playback(texture, PlaybackConfig(speed=speed))
        centres = []
        for _ in range(120):
            playback.update(1 / 30)
            centres.append(sum(f * w for f, w in playback.current_blend()))
        assert np.mean(np.diff(centres)) == pytest.approx(speed, abs=1e-6), speed
    # slow motion blends neighbours rather than repeating frames
    playback = Playback(texture, PlaybackConfig(speed=0.25))
    playback.update(1 / 30)
    assert dict(playback.current_blend()) == pytest.approx({0: 0.75, 1: 0.25})


def test_clock_clamps_pause_and_step(chain):
    playback = Playback(chain, PlaybackConfig(max_step_s=0.1))
    playback.update(5.0)  # a stall of 5 s moves on 0.1 s only
    assert playback.position == pytest.approx(3.0) and playback.time_s == pytest.approx(0.1)
    playback.update(-1.0)
    assert playback.position == pytest.approx(3.0)
    playback.pause()
    playback.update(0.05)
    assert playback.position == pytest.approx(3.0)
    playback.step()
    assert playback.position == 4.0
    playback.pause(False)
    playback.update(1 / 30)
    assert playback.position == pytest.approx(5.0)


def test_bad_settings_are_refused(chain):
    with pytest.raises(ConfigError, match="speed"):
        Playback(chain, PlaybackConfig(speed=0))
    playback = Playback(chain)
    with pytest.raises(ConfigError, match="frame_range"):
        playback.set_frame_range((30, 50))
    with pytest.raises(ConfigError, match="variety"):
        playback.set_variety(-1)


def test_history_stays_bounded(chain):
    playback = Playback(chain)
    for _ in range(5000):
        playback.update(1 / 30)
    assert len(playback.path_window()[1]) < 300

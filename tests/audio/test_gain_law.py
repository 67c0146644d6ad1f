"""Issue 18b: the crossfade's gains follow the correlation of the two sides. The same tone on
both sides of a jump (coherent) must not swell beyond the clip's own level or step (an
equal-power sum would, by up to sqrt 2); noise (uncorrelated) must keep its power (no dip);
overlapping jumps (a multi-way fade) still rebuild from their description."""
import numpy as np
import pytest

from engine.audio import path_audio, render_entries

RATE, FPS = 48000, 30
SPAN = RATE // FPS  # 1600 samples per frame
AMPLITUDE = 12000.0


def _tone_clip(phase_after_30: float) -> np.ndarray:
    """60 frames of a 450 Hz tone (exactly 15 cycles per frame, so every frame starts in the
    same phase); from frame 30 on the tone is shifted by `phase_after_30` radians."""
    t = np.arange(60 * SPAN)
    phase = 2 * np.pi * 450.0 * t / RATE + np.where(t >= 30 * SPAN, phase_after_30, 0.0)
    mono = np.round(AMPLITUDE * np.sin(phase))
    return np.stack([mono, mono], axis=1).astype(np.int16)


def _envelope(sound: np.ndarray) -> np.ndarray:
    """The largest |sample| of each tone cycle (~107 samples at 450 Hz): the level heard."""
    x = np.abs(sound[:, 0].astype(np.float64))
    cycle = 107
    return x[: len(x) // cycle * cycle].reshape(-1, cycle).max(axis=1)


def _without_correlation(entries) -> list:
    return [[x, [stream[:2] for stream in streams]] for x, streams in entries]


@pytest.mark.parametrize("phase_degrees", [0.0, 60.0])
def test_the_same_tone_on_both_sides_does_not_swell(phase_degrees):
    clip = _tone_clip(np.radians(phase_degrees))
    path = list(range(0, 10)) + list(range(35, 45))  # a jump 9 -> 35: the same tone both sides
    sound, entries = path_audio(clip, path, rate=RATE, fps_clip=FPS, fade_ms=50.0)
    jump = [stream for _, streams in entries for stream in streams if len(stream) == 3]
    # the gains assume at least the correlation measured in place (cos of the phase step); the
    # incoming tone may slide (<= 5 ms) into phase, and then they assume more
    assert jump and jump[0][2][0] >= np.cos(np.radians(phase_degrees)) - 0.02
    natural_step = np.abs(np.diff(clip[: 30 * SPAN, 0].astype(np.float64))).max()
    steps = np.abs(np.diff(sound[:, 0].astype(np.float64)))
    assert steps.max() <= 1.02 * natural_step  # within the clip's own range (the 60° sum
    #   turns its phase by 60° over the fade: +1%)
    level = _envelope(sound)
    assert level.max() <= 1.01 * AMPLITUDE and level.min() >= 0.97 * AMPLITUDE  # flat: no swell
    # the measure can fail: the equal-power law (r ignored) swells by up to sqrt 2 (60°: sqrt 1.5)
    equal_power = render_entries(clip, _without_correlation(entries), end=sound.shape[0])
    assert _envelope(equal_power).max() >= 1.15 * AMPLITUDE


def test_noise_keeps_its_power_through_jumps():
    rng = np.random.default_rng(4)
    clip = np.round(rng.normal(0.0, 6000.0, (60 * SPAN, 2))).astype(np.int16)
    path = [3 * int(s) + k for s in rng.permutation(19) for k in range(3)]  # a jump every 3 frames
    sound, entries = path_audio(clip, path, rate=RATE, fps_clip=FPS, fade_ms=50.0)
    correlations = [r for _, streams in entries for stream in streams if len(stream) == 3 for r in stream[2]]
    # uncorrelated: (nearly) equal power; a join that splices a few samples where the two happen
    # to match (engine.audio.choose_join, when a full fade of white noise steps beyond its own
    # chance extreme) measures its correlation over those samples only
    assert np.mean(np.asarray(correlations) < 0.1) >= 0.8
    window = 480  # 10 ms RMS
    x = sound[SPAN:-SPAN].astype(np.float64)
    rms = np.sqrt(np.mean(x[: len(x) // window * window].reshape(-1, window, 2) ** 2, axis=(1, 2)))
    assert rms.min() >= 0.75 * 6000.0  # no dip at the fades (10 ms of noise varies ~+-10%)


def test_overlapping_jumps_fade_many_ways_and_rebuild():
    """Jumps closer than the fade (every frame, 100 ms fades) overlap into a multi-way fade of
    the same tone: the sound stays at the tone's level and the description renders the same
    sound frame by frame as at once (what the player and the play log do)."""
    clip = _tone_clip(0.0)
    path = [0, 35, 5, 40, 10, 45, 15, 50, 20, 25]
    sound, entries = path_audio(clip, path, rate=RATE, fps_clip=FPS, fade_ms=100.0)
    assert max(len(streams) for _, streams in entries) >= 3  # a multi-way fade
    level = _envelope(sound[SPAN:-SPAN])
    assert level.max() <= 1.1 * AMPLITUDE and level.min() >= 0.9 * AMPLITUDE
    pieces = [render_entries(clip, [entry], end=(entries[n + 1][0] if n + 1 < len(entries)
                                                 else sound.shape[0]))
              for n, entry in enumerate(entries)]
    assert np.abs(np.concatenate(pieces).astype(int) - sound).max() <= 1

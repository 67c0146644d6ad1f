"""Issue 18: the sound follows the chain. On the tone clip (frame i sounds at 300 + 20 i Hz),
after random play with jumps the pitch in each output frame's span is the frame shown (or one
of the frames blended during a fade), jumps and the loop's wrap make no click or dropout, and
the play log's description rebuilds the sound exactly."""
import json

import numpy as np
import pytest

from engine.audio import JOIN_SHIFT_MS, AudioConfig, path_audio, render_entries
from precompute.bundle import load_audio
from tests.audio.conftest import FPS, RATE
from tests.synthetic import frame_of_pitch, peak_hz

SPAN = RATE // FPS  # 1600 samples per frame


def _steps(sound: np.ndarray) -> np.ndarray:
    return np.abs(np.diff(sound[:, 0].astype(np.float64)))


def _energy(sound: np.ndarray, window: int = 240) -> np.ndarray:
    """Short-time energy: RMS over 5 ms windows, hop 2.5 ms."""
    x = sound[:, 0].astype(np.float64)
    starts = np.arange(0, len(x) - window, window // 2)
    return np.array([np.sqrt(np.mean(x[s:s + window] ** 2)) for s in starts])


@pytest.fixture(scope="module")
def played(tone_analysis):
    from engine.player import PlayerConfig, play
    from engine.playback import PlaybackConfig
    from engine.texture import VideoTexture

    texture = VideoTexture.from_analysis(tone_analysis)
    result = play(texture, playback=PlaybackConfig(seed=3, variety=3.0),
                  config=PlayerConfig(frames=360, headless=True, keep_log=True, keep_audio=True,
                                      controls=False, audio=AudioConfig()),
                  sound=load_audio(tone_analysis))
    return texture, result


def test_each_output_frame_sounds_as_the_frame_it_shows(played):
    _, result = played
    assert result.jumps >= 4  # random play that jumps
    assert result.audio.shape == (360 * SPAN, 2)  # exactly the picture's length: no drift
    single = blended = 0
    for n, (blend, (x, streams)) in enumerate(zip(result.frames, result.audio_frames)):
        assert x == n * SPAN
        measured = frame_of_pitch(peak_hz(result.audio[x:x + SPAN], RATE))
        shown = [frame for frame, _ in blend]
        if len(streams) == 1 and len(blend) == 1:  # away from jumps: exactly the frame shown
            assert abs(measured - shown[0]) < 0.25, (n, measured, shown)
            # the source span is the frame's span, slid by at most JOIN_SHIFT_MS where a jump's
            # sound was moved to meet the sound before it
            assert abs(streams[0][0] - shown[0] * SPAN) <= JOIN_SHIFT_MS * RATE / 1000
            single += 1
        else:  # during a fade: one of the frames the picture blends
            assert min(abs(measured - f) for f in shown) < 0.4, (n, measured, blend)
            blended += 1
    assert single > 200 and blended >= 4


def test_jumps_make_no_click_and_no_dropout(played, tone_analysis):
    _, result = played
    clip = np.asarray(load_audio(tone_analysis).samples)
    jumps = [x for x, streams in result.audio_frames if len(streams) > 1]
    assert jumps
    played_sound = result.audio[2400:]  # after the player's 50 ms fade-in from silence
    steps = _steps(played_sound)
    # equal-power fades of two tones may add up to sqrt(2) where they are in phase; a cut
    # would step by up to the whole 2 x amplitude (10x the clip's largest step)
    assert steps.max() <= 1.5 * _steps(clip).max()
    clip_energy = _energy(clip)
    assert _energy(played_sound).min() >= 0.7 * clip_energy.min()


def test_pause_and_resume_fade_instead_of_clicking(tone_analysis):
    import pygame

    from engine.player import PlayerConfig, play
    from engine.playback import PlaybackConfig
    from engine.texture import VideoTexture

    def on_frame(index, blend, window):
        if index in (10, 20):  # space: pause after frame 10, resume after frame 20
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0,
                                                 unicode=" ", scancode=0))

    result = play(VideoTexture.from_analysis(tone_analysis), playback=PlaybackConfig(seed=2),
                  config=PlayerConfig(frames=40, headless=True, keep_log=True, keep_audio=True,
                                      controls=False, audio=AudioConfig()),
                  sound=load_audio(tone_analysis), on_frame=on_frame)
    clip = np.asarray(load_audio(tone_analysis).samples)
    silent = [n for n, (x, streams) in enumerate(result.audio_frames)
              if not np.any(result.audio[x:x + SPAN])]
    assert silent and min(silent) >= 11 and max(silent) <= 21  # paused: silent, after a fade
    assert _steps(result.audio).max() <= 1.5 * _steps(clip).max()  # start, pause, resume: no click
    resumed = result.audio_frames[max(silent) + 1]
    assert resumed[1] and resumed[1][0][1][0][1] == 0.0  # resuming fades in from silence


def test_the_play_log_rebuilds_the_sound(played, tone_analysis, tmp_path):
    from engine.player import write_play_log
    from engine.playlog import audio_header

    texture, result = played
    clip = load_audio(tone_analysis).samples
    header = audio_header(rate=RATE, channels=2, fade_ms=50.0, source_samples=clip.shape[0])
    log = json.loads(write_play_log(tmp_path / "log.json", result, source="tone", fps=FPS,
                                    audio=header).read_text())
    audio = log["audio"]
    assert len(audio["frames"]) == len(log["frames"]) == 360
    rebuilt = _rebuild(np.asarray(clip, np.float64), audio["frames"], end=360 * SPAN)
    assert np.abs(rebuilt - result.audio).max() <= 2  # int16 rounding only


def _rebuild(clip, frames, *, end):
    """An outside check's reading of docs/ARCHITECTURE.md's "audio", written independently."""
    out = np.zeros((end, clip.shape[1]))
    period = 2 * (clip.shape[0] - 1)
    for n, (x, streams) in enumerate(frames):
        stop = frames[n + 1][0] if n + 1 < len(frames) else end
        offsets = np.arange(stop - x)
        weights = [np.interp(offsets, *np.array(stream[1], float).T) for stream in streams]
        # a stream [src, points, [r_1, r_2, ...]] correlates by r_m with the stream listed m
        # before it; eased weights S = (1 - cos(pi w)) / 2; the gains are
        # sqrt(S_k sum w / (sum S + 2 sum r_m sqrt(S_before_m S_k)))
        eased = [(1 - np.cos(np.pi * weight)) / 2 for weight in weights]
        power = sum(eased) + sum(2.0 * r * np.sqrt(eased[k - m] * eased[k])
                                 for k, stream in enumerate(streams) if len(stream) == 3
                                 for m, r in enumerate(stream[2], 1))
        total = sum(weights)
        for stream, weight in zip(streams, eased):
            weight = weight * np.divide(total, power, out=np.zeros(len(offsets)), where=power > 0)
            index = np.mod(int(stream[0]) + offsets, period)
            index = np.where(index < clip.shape[0], index, period - index)
            out[x:stop] += np.sqrt(weight)[:, None] * clip[index]
    return np.clip(np.round(out), -32768, 32767)


def test_a_loop_wraps_without_a_click(tone_analysis):
    from engine.export import choose_loop

    loop = choose_loop(tone_analysis, seconds=1.0)
    clip = np.asarray(load_audio(tone_analysis).samples)
    sound, entries = path_audio(clip, loop.frames, rate=RATE, fps_clip=FPS, cyclic=True)
    assert abs(sound.shape[0] - len(loop.frames) * SPAN) <= 1
    twice = np.concatenate([sound, sound])
    seam = sound.shape[0]
    assert _steps(twice[seam - 2400:seam + 2400]).max() <= 1.5 * _steps(clip).max()
    assert _energy(twice).min() >= 0.7 * _energy(clip).min()
    wraps = loop.frames[0] != loop.frames[-1] + 1
    if wraps:  # the wrap is crossfaded like a jump: two streams at the first frame
        assert len(entries[0][1]) == 2


def test_a_hard_cut_would_click(tone_analysis):
    """The measure above can fail: splicing spans without a fade steps far beyond the clip's."""
    clip = np.asarray(load_audio(tone_analysis).samples)
    spliced = np.concatenate([clip[7 * SPAN + 411: 8 * SPAN], clip[40 * SPAN:41 * SPAN]])
    assert _steps(spliced).max() > 3 * _steps(clip).max()
    faded = render_entries(clip, path_audio(clip, [7, 40], rate=RATE, fps_clip=FPS)[1], end=2 * SPAN)
    assert _steps(faded).max() <= 1.5 * _steps(clip).max()


@pytest.mark.parametrize("speed", [0.5, 2.0])
def test_other_speeds_keep_the_pitch(tone_analysis, speed):
    from engine.player import PlayerConfig, play
    from engine.playback import PlaybackConfig
    from engine.texture import VideoTexture

    texture = VideoTexture.from_analysis(tone_analysis)
    result = play(texture, playback=PlaybackConfig(seed=1, speed=speed),
                  config=PlayerConfig(frames=60, headless=True, keep_log=True, keep_audio=True,
                                      controls=False, audio=AudioConfig(fade_ms=10.0)),
                  sound=load_audio(tone_analysis))
    assert result.audio.shape == (60 * SPAN, 2)
    restarts = 0
    for n, (blend, (x, streams)) in enumerate(zip(result.frames, result.audio_frames)):
        restarts += len(streams) > 1
        # between the 10 ms fades one grain plays: a pitch of the clip (not shifted by the
        # speed) of a frame the picture shows
        measured = frame_of_pitch(peak_hz(result.audio[x + 300:x + SPAN - 300], RATE))
        assert abs(measured - round(measured)) < 0.2, (n, measured)
        assert min(abs(measured - f) for f, _ in blend) <= 0.6, (n, measured, blend)
    assert restarts >= 20  # the grains restart where the picture is (time-stretch)

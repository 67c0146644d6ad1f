"""Issue 18: the clip's sound is decoded with it, resampled to one rate and layout, aligned to
its frames and kept beside the analysis; clips without sound, mono, 5.1 and odd rates work."""
import json

import numpy as np
import pytest

from precompute.bundle import audio_note, load_analysis, load_audio
from precompute.errors import AnalysisError
from precompute.video_io import AUDIO_RATE, decode_audio
from tests.synthetic import cycle_frames, peak_hz, pitch_tone, tamper, write_clip_with_sound, write_video

FPS = 30
N = 20


def _frames():
    return cycle_frames(period=10, repeats=N // 10)  # (20, 32, 40, 3)


@pytest.mark.parametrize("layout, rate, codec, suffix", [
    ("mono", 48000, "aac", ".mp4"),
    ("5.1", 44100, "aac", ".mp4"),
    ("stereo", 22050, "pcm_s16le", ".mov"),  # an odd rate, resampled
    ("stereo", 11025, "pcm_s16le", ".mkv"),
])
def test_every_layout_and_rate_becomes_aligned_stereo_at_one_rate(tmp_path, layout, rate, codec, suffix):
    tone = pitch_tone(N, fps=FPS, rate=rate, step_hz=20.0)  # frame i: 300 + 20 i Hz
    clip = write_clip_with_sound(tmp_path / f"clip{suffix}", _frames(), fps=FPS, sound=tone,
                                 rate=rate, layout=layout, audio_codec=codec)
    decoded = decode_audio(clip, n_frames=N, fps=FPS)
    assert decoded.samples.shape == (round(N * AUDIO_RATE / FPS), 2)
    assert decoded.samples.dtype == np.int16 and decoded.rate == AUDIO_RATE
    assert decoded.source["rate"] == rate
    assert decoded.source["channels"] == {"mono": 1, "stereo": 2, "5.1": 6}[layout]
    span = AUDIO_RATE // FPS
    for i in (3, 10, 16):  # the pitch of frame i sits in frame i's span (aligned, resampled)
        measured = peak_hz(decoded.samples[i * span + 200:(i + 1) * span - 200], AUDIO_RATE)
        assert abs(measured - (300 + 20 * i)) < 6, (i, measured)
    assert np.abs(decoded.samples[:, 0].astype(int) - decoded.samples[:, 1]).max() < 400  # both sides


def test_a_clip_without_sound_is_fine_and_says_so(tmp_path, capsys):
    from engine.cli import main
    from precompute import analyze_clip

    clip = write_video(_frames(), tmp_path / "silent.mp4", fps=FPS)
    assert decode_audio(clip, n_frames=N, fps=FPS).samples is None
    analysis = analyze_clip(clip, out=tmp_path / "ana", progress=False)
    assert load_audio(analysis) is None
    assert "no audio track" in audio_note(analysis)
    assert main(["info", str(tmp_path / "ana")]) == 0
    assert "audio     none: the clip has no audio track" in capsys.readouterr().out
    assert main(["export", str(tmp_path / "ana"), "-o", str(tmp_path / "x.mp4"), "--seconds", "0.5",
                 "--quiet"]) == 0
    from precompute.video_io import read_audio_stream

    assert read_audio_stream(tmp_path / "x.mp4") is None  # silent, not a silent track


def test_the_sound_is_kept_hashed_and_older_analyses_load_silent(tone_analysis, tmp_path):
    import shutil

    sound = load_audio(tone_analysis)
    assert sound is not None and sound.rate == AUDIO_RATE
    assert sound.samples.shape == (round(tone_analysis.n_frames * AUDIO_RATE / FPS), 2)
    assert "48000 Hz stereo" in audio_note(tone_analysis)
    damaged = tmp_path / "damaged"
    shutil.copytree(tone_analysis.path, damaged)
    tamper(damaged / "audio.s16", at=1000)
    with pytest.raises(AnalysisError, match="audio.s16"):
        load_analysis(damaged, check_source=False)
    older = tmp_path / "older"  # what format 2 wrote: no sound at all
    shutil.copytree(tone_analysis.path, older)
    manifest = json.loads((older / "manifest.json").read_text())
    manifest["format_version"] = 2
    del manifest["audio"], manifest["files"]["audio.s16"]
    (older / "audio.s16").unlink()
    (older / "manifest.json").write_text(json.dumps(manifest))
    loaded = load_analysis(older, check_source=False)
    assert load_audio(loaded) is None
    assert "predates sound" in audio_note(loaded)

"""Issue 18: exports carry the sound, as long as the picture (within one frame), and a loop's
file played twice end to end has no click at the seam; --no-audio leaves it out."""
import numpy as np
import pytest

from precompute.bundle import load_audio
from precompute.video_io import read_audio_stream
from tests.audio.conftest import FPS, RATE


def _steps(pcm: np.ndarray) -> np.ndarray:
    return np.abs(np.diff(pcm[:, 0].astype(np.float64)))


@pytest.mark.parametrize("suffix, codec", [(".mp4", "aac"), (".webm", "opus")])
def test_a_loop_export_has_sound_as_long_as_its_picture_and_no_click_at_the_seam(
        tone_analysis, tmp_path, suffix, codec):
    from engine.cli import main

    out = tmp_path / f"loop{suffix}"
    assert main(["export", str(tone_analysis.path), "-o", str(out), "--seconds", "1",
                 "--quiet"]) == 0
    stream = read_audio_stream(out)
    assert stream is not None and stream["codec"] == codec and stream["rate"] == RATE
    assert abs(stream["seconds"] - stream["video_seconds"]) <= 1.0 / FPS
    # a gapless player plays the picture's length: the encoder's padding is not sound
    pcm = stream["pcm"][:round(stream["video_seconds"] * RATE)]
    clip = np.asarray(load_audio(tone_analysis).samples, np.float64) / 32768.0
    twice = np.concatenate([pcm, pcm])
    seam = pcm.shape[0]
    natural = _steps(clip).max()
    # the sound written is seamless (tests/audio/test_follow.py); a lossy codec's first and last
    # block are a little off (AAC's edges by ~0.08 of full scale here), so the seam is held to
    # 1.5x the clip's largest natural step: a click (a cut) steps by 5-10x
    assert _steps(twice[seam - 480:seam + 480]).max() <= 1.5 * natural
    assert np.sqrt(np.mean(twice[seam - 240:seam + 240] ** 2)) > 0.5 * np.sqrt(np.mean(clip ** 2))


def test_random_export_and_other_rates_keep_the_length_and_no_audio_drops_it(tone_analysis, tmp_path):
    from engine.export import ExportConfig, export_random
    from engine.audio import AudioConfig

    result = export_random(tone_analysis, tmp_path / "r.mp4", seconds=2.0, progress=False,
                           config=ExportConfig(fps=24.0, seed=2))  # another rate: time-stretched
    assert result.audio_samples == round(result.frames * RATE / 24.0)
    stream = read_audio_stream(result.path)
    assert abs(stream["seconds"] - stream["video_seconds"]) <= 1.0 / 24.0
    silent = export_random(tone_analysis, tmp_path / "s.webm", seconds=1.0, progress=False,
                           config=ExportConfig(audio=AudioConfig(enabled=False)))
    assert silent.audio_samples == 0 and read_audio_stream(silent.path) is None


def test_a_gif_says_it_carries_no_sound(tone_analysis, tmp_path):
    from engine.export import export_random

    result = export_random(tone_analysis, tmp_path / "r.gif", seconds=0.5, progress=False)
    assert result.audio_samples == 0
    assert any("carry no sound" in note for note in result.notes)

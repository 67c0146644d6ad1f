"""The tone clip of the sound tests (issue 18): a period-10 cycle of 60 frames at 30 fps whose
sound is a tone of 300 + 20 * i Hz during frame i (continuous phase), analysed once."""
import pytest

FPS = 30
RATE = 48000
N_FRAMES = 60


@pytest.fixture(scope="session")
def tone_clip(tmp_path_factory):
    from tests.synthetic import cycle_frames, pitch_tone, write_clip_with_sound

    root = tmp_path_factory.mktemp("tone")
    frames = cycle_frames(period=10, repeats=N_FRAMES // 10)  # (60, 32, 40, 3)
    sound = pitch_tone(N_FRAMES, fps=FPS, rate=RATE)  # (S,) 300..1480 Hz
    return write_clip_with_sound(root / "tone.mov", frames, fps=FPS, sound=sound, rate=RATE)


@pytest.fixture(scope="session")
def tone_analysis(tone_clip, tmp_path_factory):
    from precompute import analyze_clip

    return analyze_clip(tone_clip, out=tmp_path_factory.mktemp("tone-ana") / "ana", progress=False)

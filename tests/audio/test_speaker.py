"""Issue 18: the player's sound goes to pygame's mixer without building up an offset, and the
mute key works (SDL's dummy audio driver stands in for a sound card)."""
import numpy as np
import pytest

from engine.audio import AudioConfig
from precompute.bundle import load_audio


def test_sound_faster_than_the_card_takes_it_is_dropped_not_queued():
    from engine.window import Speaker

    try:
        speaker = Speaker(48000)
    except Exception as error:  # pragma: no cover - a machine without SDL audio at all
        pytest.skip(f"no SDL audio driver: {error}")
    try:
        chunk = np.full((1600, 2), 1000, np.int16)  # one frame at 30 fps
        for _ in range(300):  # 10 s of sound handed over at once (a display running ahead)
            speaker.play(chunk)
            assert speaker._pending_samples <= speaker._max_pending  # the offset stays bounded
        assert speaker.dropped_samples > 0
    finally:
        speaker.close()


def test_paced_play_plays_sound_and_m_mutes_it(tone_analysis):
    import pygame

    from engine.player import PlayerConfig, play
    from engine.playback import PlaybackConfig
    from engine.texture import VideoTexture

    said = []

    def on_frame(index, blend, window):
        if index == 2:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_m, mod=0,
                                                 unicode="m", scancode=0))
        said.append(window.message)

    result = play(VideoTexture.from_analysis(tone_analysis), playback=PlaybackConfig(seed=1),
                  config=PlayerConfig(frames=8, headless=True, paced=True, speaker=True,
                                      keep_audio=True, controls=False, audio=AudioConfig()),
                  sound=load_audio(tone_analysis), on_frame=on_frame)
    if result.audio_note.startswith("no sound device"):
        pytest.skip(result.audio_note)
    assert "sound off" in said
    assert result.audio.shape[0] == 8 * 1600 and np.abs(result.audio).max() > 1000

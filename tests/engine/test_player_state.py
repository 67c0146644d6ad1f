"""What the player's window says and records, headless (SDL dummy driver) with time driven by
hand: the overlay follows `t`, the sliders read what the overlay reads, crossed range ends are
kept in order on screen, and a recording keeps real time when the display falls behind."""
import numpy as np
import pytest

from engine.player import PlayerConfig, play
from engine.playback import PlaybackConfig
from engine.window import WindowConfig
from precompute.video_io import decode_clip
from tests.engine.textures import chain_texture, coloured_frames

FPS = 30.0


def key(name):
    import pygame

    code = pygame.key.key_code(name)
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=code, mod=0, unicode="", scancode=0))


def test_t_switches_the_overlay_between_crossfade_and_cut():
    overlays = []

    def on_frame(index, blend, window):
        overlays.append(window.overlay_lines[1])
        if index in (3, 7):
            key("t")

    play(chain_texture(), playback=PlaybackConfig(fade_frames=4),
         config=PlayerConfig(headless=True, frames=12, window=WindowConfig(show_overlay=True)),
         on_frame=on_frame)
    # the key is read at the start of the next frame
    assert all(line.endswith("crossfade over 4 frames") for line in overlays[:4])
    assert all(line.endswith("cut") for line in overlays[4:8])
    assert all(line.endswith("crossfade over 4 frames") for line in overlays[8:])


def test_t_from_a_cut_fades_and_says_so():
    overlays = []

    def on_frame(index, blend, window):
        overlays.append(window.overlay_lines[1])
        if index == 2:
            key("t")

    play(chain_texture(), config=PlayerConfig(headless=True, frames=5, transitions="cut",
                                              window=WindowConfig(show_overlay=True)),
         on_frame=on_frame)
    assert [line.split("   ")[-1] for line in overlays] == ["cut"] * 3 + ["crossfade over 2 frames"] * 2


def test_sliders_read_the_values_the_overlay_reads():
    seen = {}

    def on_frame(index, blend, window):
        if index == 0:
            window.set_slider_value("variety", np.log10(9.13))
            import pygame
            import pygame_gui

            # as if the user had dragged it: the window reports the move, the player applies it
            slider = window._sliders["variety"].element
            pygame.event.post(pygame.event.Event(pygame_gui.UI_HORIZONTAL_SLIDER_MOVED,
                                                 ui_element=slider, value=slider.get_current_value()))
        seen["overlay"] = window.overlay_lines[2]
        seen["sliders"] = [window.slider_text(name) for name in ("speed", "variety", "range_start",
                                                                 "range_stop")]

    play(chain_texture(40), playback=PlaybackConfig(speed=1.25, frame_range=(10, 30)),
         config=PlayerConfig(headless=True, frames=3, window=WindowConfig(show_overlay=True)),
         on_frame=on_frame)
    assert seen["sliders"] == ["speed 1.25x", "variety 9.13", "from 10", "to 29"]
    assert seen["overlay"].startswith("speed 1.25x   variety 9.13   range 10-29")


def test_crossed_range_sliders_push_the_other_end_along():
    from engine.player import _add_controls, _apply_slider
    from engine.playback import Playback
    from engine.window import Window

    playback = Playback(chain_texture(40), PlaybackConfig(frame_range=(10, 30)))
    window = Window(WindowConfig(headless=True)).open((32, 24))
    try:
        _add_controls(window, playback)
        window.set_slider_value("range_start", 35)  # "from" dragged past "to" (29)
        _apply_slider(playback, window, "range_start", 35)
        assert (window.slider_value("range_start"), window.slider_value("range_stop")) == (35, 36)
        assert playback.config.frame_range == (35, 37)  # "to" was pushed along, on screen
        window.set_slider_value("range_stop", 20)  # then "to" below "from": "from" follows
        _apply_slider(playback, window, "range_stop", 20)
        assert (window.slider_value("range_start"), window.slider_value("range_stop")) == (19, 20)
        assert playback.config.frame_range == (19, 21)
        assert window.slider_text("range_start") == "from 19"
    finally:
        window.close()


def test_a_recording_of_a_display_at_half_speed_lasts_as_long_as_the_play(tmp_path):
    """The display manages one frame in two (a clock that says 2/30 s passed each frame): 5 s
    of play record 5 s of video, every shown frame twice, and the file gets the next free
    numbered name (rec.mp4 and rec-0001.mp4 exist)."""
    (tmp_path / "rec.mp4").write_bytes(b"an earlier recording")  # never overwritten
    (tmp_path / "rec-0001.mp4").write_bytes(b"another")
    n_shown = 75  # 5 s at 15 frames a second

    badges = []

    def on_frame(index, blend, window):
        if index == 0:
            key("r")  # read at the start of frame 1: frames 1..75 are recorded
        badges.append(window.layout.recording.runs[0][0] if window.layout.recording else None)

    frames = coloured_frames(200, 32, 48)
    texture = chain_texture(200, frames=frames, jumps=())
    result = play(texture, playback=PlaybackConfig(fade_frames=0),
                  config=PlayerConfig(headless=True, frames=n_shown + 1, paced=True, keep_log=True,
                                      window=WindowConfig(record_path=str(tmp_path / "rec.mp4"))),
                  on_frame=on_frame, clock=lambda fps: 2.0 / FPS)
    # the REC badge shows the recording's own clock while it runs (2/30 s a frame)
    assert badges[0] is None and badges[1] == "REC 0:00" and badges[17] == "REC 0:01"
    assert badges[-1] == "REC 0:04"
    assert (tmp_path / "rec.mp4").read_bytes() == b"an earlier recording"
    decoded, info = decode_clip(tmp_path / "rec-0002.mp4")
    assert info.fps == pytest.approx(FPS)
    assert len(decoded) / info.fps == pytest.approx(5.0, rel=0.05)
    # content keeps real time too: the player stepped two clip frames per shown frame
    shown = [entry[0][0] for entry in result.frames]
    assert np.all(np.diff(shown) == 2)
    # each shown frame is in the video twice: pairs alike, neighbouring pairs far apart (the
    # coloured frames differ by ~70 grey levels; H.264 at CRF 18 changes a flat frame by ~1)
    error = [float(np.abs(decoded[k].astype(int) - decoded[k + 1].astype(int)).mean())
             for k in range(len(decoded) - 1)]
    assert max(error[0::2]) < 3 and min(error[1::2]) > 20

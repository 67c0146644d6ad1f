"""The window under a virtual X display (Xvfb); skipped where Xvfb is not installed."""
import itertools
import os
import shutil
import subprocess

import cv2
import numpy as np
import pytest

from engine.texture import VideoTexture
from tests.engine.textures import coloured_frames

XVFB = shutil.which("Xvfb")
pytestmark = [pytest.mark.display,
              pytest.mark.skipif(XVFB is None, reason="Xvfb is not installed (apt-get install xvfb)")]


@pytest.fixture
def x_display(monkeypatch):
    """A private Xvfb server; -displayfd makes it pick a free display and say when it is ready."""
    read_end, write_end = os.pipe()
    server = subprocess.Popen([XVFB, "-displayfd", str(write_end), "-screen", "0", "800x600x24",
                               "-nolisten", "tcp"], pass_fds=(write_end,),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_end)
    with os.fdopen(read_end) as ready:
        number = ready.readline().strip()  # blocks until the server accepts connections
    if not number:
        server.kill()
        pytest.skip("Xvfb did not start")
    monkeypatch.setenv("DISPLAY", f":{number}")
    monkeypatch.setenv("SDL_VIDEODRIVER", "x11")
    yield f":{number}"
    server.terminate()
    server.wait(timeout=10)


def click(window, element, pygame):
    centre = element.rect.center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=centre, button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=centre, button=1))


def test_window_sliders_keys_screenshot_and_recording(x_display, tmp_path):
    from engine.window import Window, WindowConfig

    frame = np.ascontiguousarray(np.kron(coloured_frames(1, 12, 16)[0], np.ones((4, 4, 1), np.uint8)))  # (48, 64, 3)
    window = Window(WindowConfig(size=(400, 300), title="test")).open((64, 48))
    import pygame

    try:
        assert pygame.display.get_driver() == "x11"
        window.add_slider("speed", label="speed", value=1.0, value_range=(0.1, 4.0))
        events = []
        for _ in range(2):
            window.show(frame)
            events += window.poll()
        click(window, window._sliders["speed"].element.right_button, pygame)
        for _ in range(4):
            window.show(frame, dt_s=0.05)
            events += window.poll()
        moved = [e for e in events if e.kind == "slider"]
        assert moved and moved[-1].name == "speed" and moved[-1].value > 1.0
        assert window.slider_value("speed") == pytest.approx(moved[-1].value)
        assert not [e for e in events if e.kind == "mouse_down"]  # the widget took the click
        # keys: overlay and help toggles, controls hidden for the screenshot
        for key in (pygame.K_TAB, pygame.K_h, pygame.K_h, pygame.K_c):
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))
        names = [e.name for e in window.poll() if e.kind == "key"]
        assert names == ["tab", "h", "h", "c"]
        assert window.overlay_visible and not window.help_visible and not window.controls_visible
        # the mouse is reported in frame pixels: the frame is letterboxed to 400 x 300
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(200, 150), rel=(0, 0), buttons=(0, 0, 0)))
        (move,) = [e for e in window.poll() if e.kind == "mouse_move"]
        assert move.pos == pytest.approx((32.0, 24.0))
        window.show(frame, overlay=None)
        shot = cv2.imread(str(window.screenshot(tmp_path / "shot.png")))[:, :, ::-1]
        assert shot.shape == (300, 400, 3)
        expected = cv2.resize(frame, (400, 300), interpolation=cv2.INTER_LINEAR)
        assert np.abs(shot.astype(int) - expected.astype(int)).mean() < 2.0
        # the overlay and the help draw over the picture; F11 toggles fullscreen without failing
        plain = window.snapshot()
        window.show(frame, overlay=["frame 12", "jumps 3"])
        with_overlay = window.snapshot()
        assert (with_overlay[:40, :120] != plain[:40, :120]).any()
        window.help_visible = True
        window.show(frame)
        assert (window.snapshot() != plain).any()
        window.help_visible = False
        window.toggle_fullscreen()
        window.toggle_fullscreen()
        window.show(frame)
        # record what is shown: five frames, each on screen for one 30 fps period, into a PNG folder
        window.start_recording(tmp_path / "recording", fps=30)
        for _ in range(5):
            window.show(frame, dt_s=1 / 30)
        window.stop_recording()
        assert len(list((tmp_path / "recording").glob("*.png"))) == 5
    finally:
        window.close()


def test_player_keys_change_playback(x_display):
    from engine.player import PlayerConfig, play
    from engine.playback import PlaybackConfig

    n = 300
    texture = VideoTexture.from_arrays(coloured_frames(n), link_offsets=np.arange(n + 1),
                                       link_targets=(np.arange(n) + 1) % n,
                                       link_future_costs=np.zeros(n, np.float32), fps=30, sigma=1.0)

    def press_up(index, blend, window):
        if index == 9:
            import pygame

            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_UP, mod=0, unicode="", scancode=0))

    result = play(texture, playback=PlaybackConfig(), on_frame=press_up,
                  config=PlayerConfig(frames=90, paced=False, keep_log=True))
    shown = np.array([entry[0][0] for entry in result.frames])
    assert np.all(np.diff(shown[:11]) == 1)
    assert np.mean(np.diff(shown[20:])) == pytest.approx(1.25, abs=0.05)


@pytest.mark.parametrize("size", [(320, 240), (640, 480), (1280, 720)])
def test_help_overlay_and_controls_never_overlap_or_cover_the_picture(x_display, size, tmp_path):
    """The player on a 352x288 clip (the issue's clock), help (F1) and overlay (Tab) both on:
    the rectangles drawn, and pygame_gui's own rectangles of every slider and label."""
    from engine.layout import contains, intersects
    from engine.player import PlayerConfig, play
    from engine.window import WindowConfig

    n = 60
    texture = VideoTexture.from_arrays(coloured_frames(n, 288, 352), link_offsets=np.arange(n + 1),
                                       link_targets=(np.arange(n) + 1) % n,
                                       link_future_costs=np.zeros(n, np.float32), fps=30, sigma=1.0)
    seen = {}

    def on_frame(index, blend, window):
        import pygame

        if index == 0:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_F1, mod=0, unicode="", scancode=0))
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_TAB, mod=0, unicode="", scancode=0))
        if index == 3:
            seen["layout"] = window.layout
            seen["widgets"] = {name: (window.slider_label_rect(name), window.slider_rect(name))
                               for name in ("speed", "variety", "range_start", "range_stop")}
            seen["size"] = window.size
            window.screenshot(tmp_path / f"player-{size[0]}x{size[1]}.png")

    play(texture, config=PlayerConfig(frames=4, paced=False, window=WindowConfig(size=size)),
         on_frame=on_frame)
    layout = seen["layout"]
    assert seen["size"] == size == layout.window
    assert layout.help is not None and layout.overlay is not None and layout.fits
    whole = (0, 0, *size)
    blocks = layout.blocks()
    for (name_a, a), (name_b, b) in itertools.combinations(blocks.items(), 2):
        assert not intersects(a, b), (name_a, a, name_b, b)
    assert all(contains(whole, rect) for rect in blocks.values())
    assert not intersects(layout.panel, layout.picture)
    for name, (label, slider) in seen["widgets"].items():  # where pygame_gui drew them
        for rect in (label, slider):
            assert contains(layout.panel, rect), (name, rect, layout.panel)
            assert not intersects(rect, layout.picture), name
    # every key of the help is drawn, inside its backdrop (the old help lost "r" and "Esc / q")
    keys = [text for text, _, _ in layout.help.runs]
    assert "r" in keys and "Esc / q" in keys and "F1 / h" in keys
    shot = cv2.imread(str(tmp_path / f"player-{size[0]}x{size[1]}.png"))
    assert shot.shape == (size[1], size[0], 3)
    if os.environ.get("FRAMECHAIN_SCREENSHOTS"):  # a folder to keep them in, to look at
        shutil.copy(tmp_path / f"player-{size[0]}x{size[1]}.png", os.environ["FRAMECHAIN_SCREENSHOTS"])

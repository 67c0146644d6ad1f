"""The window: the one module that touches pygame surfaces (and pygame_gui widgets).

Everything else hands it numpy frames, (H, W, 3) uint8 RGB; pygame's (W, H, 3) order appears
only here. A `Window` shows frames scaled to fit (letterboxed), carries pygame_gui sliders,
an overlay of status lines and a help overlay, goes fullscreen, saves screenshots (PNG) and
records what it shows to a video file (precompute.video_io's writer). Its loop for a caller:

    window = Window(WindowConfig(title="candle")).open((width, height))
    window.add_slider("speed", label="speed", value=1.0, value_range=(0.1, 4.0))
    while window.is_open:
        for event in window.poll():          # WindowEvent(kind, name, value, pos)
            ...                              # "quit", "key", "slider", "mouse_move", "mouse_down"
        playback.update(dt); frame = compositor.compose(playback.current_blend())
        window.show(frame, overlay=["frame 12"])
        dt = window.tick(fps)
    window.close()

Standard keys are handled here and reported too (so every app gets them): F1/h help, Tab/o
overlay, F11/f fullscreen, F12/s screenshot, r record, c controls (sliders shown/hidden),
Esc/q quit. Mouse positions in events are given in frame pixels (x right, y down), so a sprite
demo can steer with them whatever the window size.

Headless: `WindowConfig(headless=True)` selects SDL's dummy video driver; the same calls run,
nothing appears on screen, and `snapshot()` still returns what would have been shown.
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from precompute.errors import ConfigError, ExportError

__all__ = ["Window", "WindowConfig", "WindowEvent", "STANDARD_KEYS_HELP"]

STANDARD_KEYS_HELP = [
    ("F1 / h", "show or hide this help"),
    ("Tab / o", "overlay: fps, frame, jumps"),
    ("c", "show or hide the sliders"),
    ("F11 / f", "fullscreen"),
    ("F12 / s", "screenshot (PNG)"),
    ("r", "record what is shown (start / stop)"),
    ("Esc / q", "quit"),
]


@dataclass(frozen=True, kw_only=True)
class WindowConfig:
    """Window settings."""

    title: str = "framechain"  # window caption
    size: tuple[int, int] | None = None  # initial (width, height); None: the frame size (capped
    #   at 1280 wide, at least 320x240; headless: exactly); the picture follows resizes (letterboxed)
    fullscreen: bool = False  # start fullscreen (F11 toggles)
    headless: bool = False  # SDL's dummy driver: nothing on screen, same code path
    show_controls: bool = True  # sliders visible at start ("c" toggles)
    show_overlay: bool = False  # status overlay visible at start (Tab toggles)
    screenshot_dir: str = "."  # where F12 saves framechain-NNNN.png
    record_path: str = "framechain-recording.mp4"  # where "r" records (.mp4/.webm/.gif or a folder)
    record_fps: float = 30.0  # frame rate written into recordings (the clip's, normally)
    smooth_scaling: bool = True  # bilinear scaling to the window (False: nearest, a bit faster)


@dataclass(frozen=True)
class WindowEvent:
    """kind: "quit" | "key" | "slider" | "mouse_move" | "mouse_down" | "mouse_up" | "resize".
    name: the key name (pygame.key.name: "space", "a", "right") or the slider name.
    value: the slider value, or the mouse button. pos: (x, y) in frame pixels (mouse events)."""

    kind: str
    name: str = ""
    value: float | int | None = None
    pos: tuple[float, float] | None = None


@dataclass
class _Slider:
    name: str
    label: str
    fmt: str
    element: object
    label_element: object
    value_range: tuple[float, float]


class Window:
    """A pygame window showing numpy frames, with sliders, overlays, screenshots and recording."""

    def __init__(self, config: WindowConfig = WindowConfig()):
        self.config = config
        self.is_open = False
        self.help_visible = False
        self.overlay_visible = config.show_overlay
        self.controls_visible = config.show_controls
        self.message = ""  # a transient line shown at the top (e.g. "saved shot.png")
        self._message_until = 0.0
        self._app_help: list[tuple[str, str]] = []
        self._sliders: dict[str, _Slider] = {}
        self._writer = None
        self._recording_size = None
        self._shots = 0
        self._frame_rect = None
        self._frame_size = None

    # ------------------------------------------------------------------ life cycle
    def open(self, frame_size: tuple[int, int]) -> "Window":
        """Open the window for frames of `frame_size` = (width, height)."""
        if self.config.headless:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
            os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame
        import pygame_gui

        self._pg = pygame
        self._gui = pygame_gui
        width, height = (int(v) for v in frame_size)
        if width < 1 or height < 1:
            raise ConfigError(f"frame_size must be (width, height) > 0, got {frame_size}")
        self._frame_size = (width, height)
        pygame.display.init()
        pygame.font.init()
        if self.config.size is not None:
            size = tuple(int(v) for v in self.config.size)
        elif self.config.headless:
            size = (width, height)  # nothing to look at: play at the frame's own size, unscaled
        else:
            scale = min(1.0, 1280 / width)
            size = (max(320, round(width * scale)), max(240, round(height * scale)))
        flags = pygame.RESIZABLE
        if self.config.fullscreen:
            flags |= pygame.FULLSCREEN
        self._screen = pygame.display.set_mode(size, flags)
        pygame.display.set_caption(self.config.title)
        self._manager = pygame_gui.UIManager(self._screen.get_size(), enable_live_theme_updates=False)
        self._font = pygame.font.Font(None, 22)
        self._deadline = None  # next frame time of tick()
        self._last_tick = None
        self._layout()
        self.is_open = True
        return self

    def close(self) -> None:
        """Stop any recording and close the window (safe to call twice)."""
        if self._writer is not None:
            self.stop_recording()
        if self.is_open:
            self._pg.display.quit()
            self.is_open = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def size(self) -> tuple[int, int]:
        """The window's (width, height) in pixels."""
        return self._screen.get_size()

    # ------------------------------------------------------------------ widgets
    def add_slider(self, name: str, *, label: str, value: float, value_range: tuple[float, float],
                   fmt: str = "{:.2f}") -> None:
        """A horizontal slider (pygame_gui) in the controls panel; moves arrive from `poll()` as
        WindowEvent("slider", name, value)."""
        if name in self._sliders:
            raise ConfigError(f"a slider named {name!r} exists already")
        low, high = (float(v) for v in value_range)
        if not low < high:
            raise ConfigError(f"value_range must be (low, high) with low < high, got {value_range}")
        elements = self._gui.elements
        slider = elements.UIHorizontalSlider(self._pg.Rect(0, 0, 100, 24), float(value), (low, high),
                                            manager=self._manager, click_increment=(high - low) / 50)
        text = elements.UILabel(self._pg.Rect(0, 0, 150, 24), "", manager=self._manager)
        self._sliders[name] = _Slider(name, label, fmt, slider, text, (low, high))
        self._update_label(self._sliders[name])
        self._layout()

    def has_slider(self, name: str) -> bool:
        return name in self._sliders

    def slider_value(self, name: str) -> float:
        return float(self._sliders[name].element.get_current_value())

    def set_slider_value(self, name: str, value: float) -> None:
        """Move a slider from code (no event is reported for it)."""
        slider = self._sliders[name]
        low, high = slider.value_range
        slider.element.set_current_value(min(high, max(low, float(value))))
        self._update_label(slider)

    def slider_rect(self, name: str) -> tuple[int, int, int, int]:
        """(x, y, width, height) of a slider in window pixels (for tests and tools)."""
        rect = self._sliders[name].element.get_abs_rect()
        return int(rect.x), int(rect.y), int(rect.width), int(rect.height)

    def set_help(self, lines: list[tuple[str, str]]) -> None:
        """The app's own keys, listed in the help overlay above the standard ones."""
        self._app_help = list(lines)

    def _update_label(self, slider: _Slider) -> None:
        value = slider.element.get_current_value()
        slider.label_element.set_text(f"{slider.label} {slider.fmt.format(value)}")

    def _layout(self) -> None:
        width, height = self._screen.get_size()
        row = 28
        panel = row * len(self._sliders)
        for k, slider in enumerate(self._sliders.values()):
            y = height - panel + k * row + 2
            slider.label_element.set_relative_position((8, y))
            slider.element.set_relative_position((162, y))
            slider.element.set_dimensions((max(80, min(420, width - 172)), 24))
            for element in (slider.element, slider.label_element):
                (element.show if self.controls_visible else element.hide)()
        # letterbox: the largest rectangle of the frame's aspect that fits the window
        frame_width, frame_height = self._frame_size
        scale = min(width / frame_width, height / frame_height)
        shown = (max(1, round(frame_width * scale)), max(1, round(frame_height * scale)))
        self._frame_rect = self._pg.Rect((width - shown[0]) // 2, (height - shown[1]) // 2, *shown)

    # ------------------------------------------------------------------ events
    def _frame_position(self, pos) -> tuple[float, float]:
        rect = self._frame_rect
        frame_width, frame_height = self._frame_size
        return ((pos[0] - rect.x) * frame_width / rect.width, (pos[1] - rect.y) * frame_height / rect.height)

    def frame_position(self, window_pos: tuple[int, int]) -> tuple[float, float]:
        """Window pixels -> frame pixels (may lie outside the frame in the letterbox bars)."""
        return self._frame_position(window_pos)

    def poll(self) -> list[WindowEvent]:
        """Handle pending pygame events (standard keys, widgets, resizing) and report them."""
        pg = self._pg
        events: list[WindowEvent] = []
        for event in pg.event.get():
            consumed = self._manager.process_events(event)  # True when a widget took a click
            if event.type == pg.QUIT:
                events.append(WindowEvent("quit"))
            elif event.type in (pg.VIDEORESIZE, pg.WINDOWSIZECHANGED):
                self._resized()
                events.append(WindowEvent("resize", value=None, pos=None))
            elif event.type == self._gui.UI_HORIZONTAL_SLIDER_MOVED:
                for slider in self._sliders.values():
                    if slider.element is event.ui_element:
                        self._update_label(slider)
                        events.append(WindowEvent("slider", slider.name, float(event.value)))
            elif event.type == pg.KEYDOWN:
                name = pg.key.name(event.key)
                self._standard_key(name, events)
                events.append(WindowEvent("key", name))
            elif event.type == pg.MOUSEMOTION:
                events.append(WindowEvent("mouse_move", pos=self._frame_position(event.pos)))
            elif consumed:
                continue  # a click on a slider is not a click on the picture
            elif event.type == pg.MOUSEBUTTONDOWN:
                events.append(WindowEvent("mouse_down", value=event.button, pos=self._frame_position(event.pos)))
            elif event.type == pg.MOUSEBUTTONUP:
                events.append(WindowEvent("mouse_up", value=event.button, pos=self._frame_position(event.pos)))
        return events

    def _standard_key(self, name: str, events: list[WindowEvent]) -> None:
        if name in ("f1", "h"):
            self.help_visible = not self.help_visible
        elif name in ("tab", "o"):
            self.overlay_visible = not self.overlay_visible
        elif name == "c":
            self.controls_visible = not self.controls_visible
            self._layout()
        elif name in ("f11", "f"):
            self.toggle_fullscreen()
        elif name in ("f12", "s"):
            directory = Path(self.config.screenshot_dir)
            while (directory / f"framechain-{self._shots:04d}.png").exists():
                self._shots += 1
            self.screenshot(directory / f"framechain-{self._shots:04d}.png")
        elif name == "r":
            if self._writer is None:
                self.start_recording(self.config.record_path, fps=self.config.record_fps)
            else:
                self.stop_recording()
        elif name in ("escape", "q"):
            events.append(WindowEvent("quit"))

    def _resized(self) -> None:
        self._screen = self._pg.display.get_surface()
        self._manager.set_window_resolution(self._screen.get_size())
        self._layout()

    def toggle_fullscreen(self) -> None:
        try:
            with warnings.catch_warnings():  # "re-creating window": pygame's note, harmless
                warnings.simplefilter("ignore")
                self._pg.display.toggle_fullscreen()
        except self._pg.error as error:  # the dummy driver and some window managers refuse
            self.say(f"fullscreen not available: {error}")
        self._resized()

    def say(self, message: str, seconds: float = 2.5) -> None:
        """Show a transient message line (and print it to stderr)."""
        self.message = message
        self._message_until = time.monotonic() + seconds
        print(f"framechain: {message}", file=sys.stderr)

    # ------------------------------------------------------------------ drawing
    def show(self, frame: np.ndarray, *, overlay: list[str] | None = None, dt_s: float = 1 / 60) -> None:
        """Draw `frame` (H, W, 3) uint8 RGB scaled to the window, then widgets and overlays, and
        flip. `overlay`: status lines (drawn when the overlay is toggled on). `dt_s`: time since
        the last call, for the widgets' animations."""
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
                and frame.dtype == np.uint8):
            raise ConfigError(f"frame must be (H, W, 3) uint8 RGB, got {getattr(frame, 'shape', None)} "
                              f"{getattr(frame, 'dtype', type(frame).__name__)}")
        pg = self._pg
        rect = self._frame_rect
        height, width = frame.shape[:2]
        if (width, height) != self._frame_size:
            self._frame_size = (width, height)
            self._layout()
            rect = self._frame_rect
        if (rect.width, rect.height) != (width, height):
            interpolation = cv2.INTER_LINEAR if self.config.smooth_scaling else cv2.INTER_NEAREST
            frame = cv2.resize(frame, (rect.width, rect.height), interpolation=interpolation)
        elif not frame.flags.c_contiguous:
            frame = np.ascontiguousarray(frame)
        surface = pg.image.frombuffer(frame, (rect.width, rect.height), "RGB")  # (H, W, 3) bytes
        screen = self._screen
        if rect.width != screen.get_width() or rect.height != screen.get_height():
            screen.fill((0, 0, 0))
        screen.blit(surface, rect.topleft)
        if self._sliders and self.controls_visible:
            self._manager.update(dt_s)
            self._manager.draw_ui(screen)
        if self.overlay_visible and overlay:
            self._draw_lines(overlay, (8, 8))
        if self.message and time.monotonic() < self._message_until:
            self._draw_lines([self.message], (8, screen.get_height() // 2))
        if self.help_visible:
            self._draw_help()
        if self._writer is not None:
            self._record_shown()
        pg.display.flip()

    def _draw_lines(self, lines: list[str], at: tuple[int, int]) -> None:
        pg = self._pg
        rendered = [self._font.render(line, True, (255, 255, 255)) for line in lines]
        width = max(s.get_width() for s in rendered) + 12
        height = sum(s.get_height() + 2 for s in rendered) + 8
        backdrop = pg.Surface((width, height), pg.SRCALPHA)
        backdrop.fill((0, 0, 0, 160))
        self._screen.blit(backdrop, at)
        y = at[1] + 4
        for s in rendered:
            self._screen.blit(s, (at[0] + 6, y))
            y += s.get_height() + 2

    def _draw_help(self) -> None:
        lines = ["keys"] + [f"{key:>10}  {what}" for key, what in self._app_help + STANDARD_KEYS_HELP]
        width = self._screen.get_width()
        self._draw_lines(lines, (max(8, width // 2 - 170), 40))

    def snapshot(self) -> np.ndarray:
        """What the window shows now, (H, W, 3) uint8 RGB (a copy)."""
        pixels = self._pg.surfarray.array3d(self._screen)  # (W, H, 3): pygame's order
        return np.ascontiguousarray(pixels.transpose(1, 0, 2))  # (H, W, 3)

    def screenshot(self, path: str | os.PathLike) -> Path:
        """Save what the window shows as a PNG."""
        path = Path(path)
        if path.suffix.lower() != ".png":
            raise ConfigError(f"screenshot path must end in .png, got {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._pg.image.save(self._screen, str(path))
        self.say(f"saved {path}")
        return path

    # ------------------------------------------------------------------ recording
    @property
    def recording(self) -> bool:
        return self._writer is not None

    def start_recording(self, path: str | os.PathLike, *, fps: float) -> None:
        """Record every shown frame (widgets and overlays included) to `path` (.mp4, .webm, .gif,
        .png or a folder of PNGs), at the window's size when recording starts."""
        from precompute.video_io import open_writer

        width, height = self._screen.get_size()
        size = (width - width % 2, height - height % 2)  # even, for H.264
        try:
            self._writer = open_writer(path, fps=fps, size=size)
            self._writer.__enter__()
        except ExportError as error:
            self._writer = None
            self.say(f"cannot record: {error}")
            return
        self._recording_size = size
        self.say(f"recording to {path}")

    def _record_shown(self) -> None:
        frame = self.snapshot()
        width, height = self._recording_size
        if frame.shape[:2] != (height, width):
            frame = np.ascontiguousarray(frame[:height, :width])
            if frame.shape[:2] != (height, width):
                frame = cv2.resize(self.snapshot(), (width, height), interpolation=cv2.INTER_AREA)
        try:
            self._writer.write(frame)
        except ExportError as error:
            writer, self._writer = self._writer, None
            writer.abort()
            self.say(f"recording stopped: {error}")

    def stop_recording(self) -> Path | None:
        """Finish the recording file; returns its path."""
        writer, self._writer = self._writer, None
        if writer is None:
            return None
        try:
            path = writer.close()
        except ExportError as error:  # the file is not left half-written; playing goes on
            self.say(f"recording failed: {error}")
            return None
        self.say(f"recorded {writer.frames_written} frames to {path}")
        return path

    # ------------------------------------------------------------------ time
    def tick(self, fps: float | None) -> float:
        """Wait for the next frame time at `fps` (None or 0: do not wait); returns the seconds
        since the previous tick. Frame times are kept on a fixed grid of deadlines, so a late
        frame is followed by a shorter wait (no drift); more than a frame late, the grid restarts."""
        now = time.perf_counter()
        if fps:
            period = 1.0 / fps
            if self._deadline is None or now - self._deadline > period:
                self._deadline = now
            self._deadline += period
            remaining = self._deadline - now
            if remaining > 0:
                time.sleep(remaining)
            now = time.perf_counter()
        elapsed = now - (self._last_tick if self._last_tick is not None else now)
        self._last_tick = now
        return elapsed

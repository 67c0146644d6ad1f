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

Where things go is `engine.layout.compute_layout` (a pure function; `window.layout` is the last
one drawn): the sliders sit in a panel below or beside the picture, never over it, and the
overlay, the help, the recording indicator and messages never overlap or clip.

Recordings keep real time: `show(frame, dt_s=...)` says how long the previous frame was on
screen, and each shown frame is written as many times as output frames at the recording's rate
fall in its time on screen (none when the display runs faster than the recording). So a display
that falls behind still records a video as long as the time it played.

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

from engine.layout import Layout, compute_layout, default_window_size
from precompute.errors import ConfigError, ExportError

__all__ = ["Window", "WindowConfig", "WindowEvent", "STANDARD_KEYS_HELP", "Speaker"]

STANDARD_KEYS_HELP = [  # short: at 320x240 the help shares the window with the overlay
    ("F1 / h", "this help"),
    ("Tab / o", "overlay"),
    ("c", "controls"),
    ("F11 / f", "fullscreen"),
    ("F12 / s", "screenshot"),
    ("r", "record"),
    ("Esc / q", "quit"),
]


@dataclass(frozen=True, kw_only=True)
class WindowConfig:
    """Window settings."""

    title: str = "framechain"  # window caption
    size: tuple[int, int] | None = None  # initial (width, height); None: the picture at the
    #   frame's size (scaled down to 1280 wide, small clips up to 640 wide or 480 tall) plus the
    #   controls panel (headless: exactly the frame size); the picture follows resizes (letterboxed)
    fullscreen: bool = False  # start fullscreen (F11 toggles)
    headless: bool = False  # SDL's dummy driver: nothing on screen, same code path
    show_controls: bool = True  # sliders visible at start ("c" toggles; headless: hidden, so
    #   that the picture fills the frame-sized window)
    show_overlay: bool = False  # status overlay visible at start (Tab toggles)
    screenshot_dir: str = "."  # where F12 saves framechain-NNNN.png
    record_path: str = "framechain-recording.mp4"  # where "r" records (.mp4/.webm/.gif or a
    #   folder); when it exists, the next free numbered name (framechain-recording-0001.mp4, ...):
    #   a recording never overwrites a file
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
    display: object  # value -> the text shown after the label
    element: object
    label_element: object
    value_range: tuple[float, float]


@dataclass
class _Recording:
    """A recording in progress: the writer, the frame on screen and the recording's clock."""

    writer: object
    path: Path
    size: tuple[int, int]  # (width, height) written
    fps: float
    held: np.ndarray | None = None  # the frame on screen now, (H, W, 3), not yet written
    held_dt_s: float = 0.0  # how long the frame before it stayed on screen (the next guess)
    clock_s: float = 0.0  # when the held frame appeared, seconds since recording started


class Window:
    """A pygame window showing numpy frames, with sliders, overlays, screenshots and recording."""

    def __init__(self, config: WindowConfig = WindowConfig()):
        self.config = config
        self.is_open = False
        self.help_visible = False
        self.overlay_visible = config.show_overlay
        self.controls_visible = config.show_controls and not config.headless
        self.message = ""  # a transient line shown at the top (e.g. "saved shot.png")
        self._message_until = 0.0
        self._app_help: list[tuple[str, str]] = []
        self._sliders: dict[str, _Slider] = {}
        self._recording: _Recording | None = None
        self._shots = 0
        self._frame_rect = None
        self._frame_size = None
        self._auto_size = False  # the window was sized to the picture (and follows the panel)
        self._panel_key = None  # the panel geometry the sliders were last placed for
        self.layout: Layout | None = None  # what was last drawn where (for tests and tools)
        self.overlay_lines: list[str] = []  # the status lines last drawn (when the overlay is on)

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
            size = default_window_size((width, height), slider_rows=0)
            self._auto_size = not self.config.fullscreen  # grows with the panel (add_slider)
        flags = pygame.RESIZABLE
        if self.config.fullscreen:
            flags |= pygame.FULLSCREEN
        self._screen = pygame.display.set_mode(size, flags)
        pygame.display.set_caption(self.config.title)
        self._manager = pygame_gui.UIManager(self._screen.get_size(), enable_live_theme_updates=False)
        self._fonts: dict[int, object] = {}
        self._deadline = None  # next frame time of tick()
        self._last_tick = None
        self._layout()
        self.is_open = True
        return self

    def close(self) -> None:
        """Stop any recording and close the window (safe to call twice)."""
        if self._recording is not None:
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
                   fmt: str = "{:.2f}", display=None, step: float | None = None) -> None:
        """A horizontal slider (pygame_gui) in the controls panel; moves arrive from `poll()` as
        WindowEvent("slider", name, value). The label reads `label` and the value as
        `display(value)` (default `fmt.format(value)`): show the value as the app means it (a log
        slider shows 10 ** value). `step`: the arrows' increment (default 1/50 of the range)."""
        if name in self._sliders:
            raise ConfigError(f"a slider named {name!r} exists already")
        low, high = (float(v) for v in value_range)
        if not low < high:
            raise ConfigError(f"value_range must be (low, high) with low < high, got {value_range}")
        elements = self._gui.elements
        slider = elements.UIHorizontalSlider(self._pg.Rect(0, 0, 100, 22), float(value), (low, high),
                                            manager=self._manager,
                                            click_increment=step or (high - low) / 50)
        text = elements.UILabel(self._pg.Rect(0, 0, 100, 22), "", manager=self._manager)
        self._sliders[name] = _Slider(name, label, display or fmt.format, slider, text, (low, high))
        self._update_label(self._sliders[name])
        if self._auto_size:  # the window grows by the panel, so the picture keeps its size
            wanted = default_window_size(self._frame_size, slider_rows=len(self._sliders))
            if wanted != self._screen.get_size():
                self._screen = self._pg.display.set_mode(wanted, self._pg.RESIZABLE)
                self._manager.set_window_resolution(wanted)
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

    def slider_label_rect(self, name: str) -> tuple[int, int, int, int]:
        rect = self._sliders[name].label_element.get_abs_rect()
        return int(rect.x), int(rect.y), int(rect.width), int(rect.height)

    def slider_text(self, name: str) -> str:
        """What the slider's label reads now ("variety 9.13")."""
        return self._sliders[name].label_element.text

    def set_help(self, lines: list[tuple[str, str]]) -> None:
        """The app's own keys, listed in the help overlay above the standard ones."""
        self._app_help = list(lines)

    def _update_label(self, slider: _Slider) -> None:
        value = slider.element.get_current_value()
        slider.label_element.set_text(f"{slider.label} {slider.display(value)}")

    def _measure(self, text: str, font_size: int) -> tuple[int, int]:
        return self._font(font_size).size(text)

    def _font(self, font_size: int):
        if font_size not in self._fonts:
            self._fonts[font_size] = self._pg.font.Font(None, font_size)
        return self._fonts[font_size]

    def _layout(self, overlay: list[str] | None = None) -> Layout:
        """Compute where everything goes (engine.layout) and move the sliders there."""
        message = self.message if self.message and time.monotonic() < self._message_until else None
        recording = None
        if self._recording is not None:
            seconds = int(self._recording.clock_s)
            recording = f"REC {seconds // 60}:{seconds % 60:02d}"
        layout = compute_layout(
            self._screen.get_size(), self._frame_size, slider_rows=len(self._sliders),
            controls_visible=self.controls_visible,
            overlay=overlay if self.overlay_visible and overlay else None,
            help_entries=self._app_help + STANDARD_KEYS_HELP if self.help_visible else None,
            recording=recording, message=message, measure=self._measure)
        key = (layout.window, layout.sliders, self.controls_visible)
        if key != self._panel_key:  # moving pygame_gui elements costs; only when the panel changed
            self._panel_key = key
            places = layout.sliders or [(None, None)] * len(self._sliders)  # hidden: stay put
            for slider, (label_rect, slider_rect) in zip(self._sliders.values(), places):
                if label_rect is not None:
                    slider.label_element.set_relative_position(label_rect[:2])
                    slider.label_element.set_dimensions(label_rect[2:])
                    slider.element.set_relative_position(slider_rect[:2])
                    slider.element.set_dimensions(slider_rect[2:])
                for element in (slider.element, slider.label_element):
                    (element.show if self.controls_visible else element.hide)()
        self._frame_rect = self._pg.Rect(*layout.picture)
        self.layout = layout
        return layout

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
            if self._recording is None:
                self.start_recording(self.next_recording_path(), fps=self.config.record_fps)
            else:
                self.stop_recording()
        elif name in ("escape", "q"):
            events.append(WindowEvent("quit"))

    def next_recording_path(self) -> Path:
        """config.record_path itself while it is free, then numbered like screenshots
        (NAME-0001.mp4, NAME-0002.mp4, ...): a recording never overwrites a file."""
        path = Path(self.config.record_path)
        number = 0
        candidate = path
        while candidate.exists():
            number += 1
            candidate = path.with_name(f"{path.stem}-{number:04d}{path.suffix}")
        return candidate

    def _resized(self) -> None:
        if self._screen.get_size() != self._pg.display.get_surface().get_size():
            self._auto_size = False  # the user chose a size: keep it
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
    def show(self, frame: np.ndarray, *, overlay: list[str] | None = None, dt_s: float | None = None) -> None:
        """Draw `frame` (H, W, 3) uint8 RGB scaled into the picture area, then the controls panel
        and the text blocks, and flip. `overlay`: status lines (drawn when the overlay is toggled
        on). `dt_s`: how long the previous frame was on screen, in seconds (the widgets' animation
        step, and a recording's clock: time is passed in, never read here); None: one period of
        config.record_fps (each shown frame is one recorded frame)."""
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
                and frame.dtype == np.uint8):
            raise ConfigError(f"frame must be (H, W, 3) uint8 RGB, got {getattr(frame, 'shape', None)} "
                              f"{getattr(frame, 'dtype', type(frame).__name__)}")
        pg = self._pg
        if dt_s is None:
            dt_s = 1.0 / self.config.record_fps
        height, width = frame.shape[:2]
        if (width, height) != self._frame_size:
            self._frame_size = (width, height)
        self.overlay_lines = list(overlay) if self.overlay_visible and overlay else []
        if self._recording is not None:
            self._advance_recording(dt_s)
        layout = self._layout(overlay)
        rect = self._frame_rect
        if (rect.width, rect.height) != (width, height):
            interpolation = cv2.INTER_LINEAR if self.config.smooth_scaling else cv2.INTER_NEAREST
            frame = cv2.resize(frame, (rect.width, rect.height), interpolation=interpolation)
        elif not frame.flags.c_contiguous:
            frame = np.ascontiguousarray(frame)
        surface = pg.image.frombuffer(frame, (rect.width, rect.height), "RGB")  # (H, W, 3) bytes
        screen = self._screen
        if rect.size != screen.get_size():
            screen.fill((0, 0, 0))
        screen.blit(surface, rect.topleft)
        if self._sliders and self.controls_visible and layout.panel is not None:
            screen.fill((24, 24, 28), pg.Rect(*layout.panel))
            self._manager.update(dt_s)
            self._manager.draw_ui(screen)
        for name in ("overlay", "help", "message"):
            block = getattr(layout, name)
            if block is not None:
                self._draw_block(block, layout.font_size)
        if self._recording is not None:
            self._hold_shown()  # what is recorded: the window without the REC badge
            if layout.recording is not None:
                self._draw_block(layout.recording, layout.font_size, dot=(230, 40, 40))
        pg.display.flip()

    def _draw_block(self, block, font_size: int, *, dot=None) -> None:
        pg = self._pg
        backdrop = pg.Surface(block.rect[2:], pg.SRCALPHA)
        backdrop.fill((0, 0, 0, 170))
        self._screen.blit(backdrop, block.rect[:2])
        font = self._font(font_size)
        for text, x, y in block.runs:
            self._screen.blit(font.render(text, True, (255, 255, 255)), (x, y))
        if dot is not None:  # the recording indicator's red dot, before its text
            _, x, y = block.runs[0]
            radius = max(3, font.get_height() // 3)
            pg.draw.circle(self._screen, dot, (x - radius - 4, y + font.get_height() // 2), radius)

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
        return self._recording is not None

    @property
    def recording_path(self) -> Path | None:
        return None if self._recording is None else self._recording.path

    def start_recording(self, path: str | os.PathLike, *, fps: float) -> None:
        """Record what is shown (widgets and overlays included, the REC badge not) to `path`
        (.mp4, .webm, .gif, .png or a folder of PNGs) at `fps`, in real time (see the module
        comment), at the window's size when recording starts."""
        from precompute.video_io import open_writer

        width, height = self._screen.get_size()
        size = (width - width % 2, height - height % 2)  # even, for H.264
        try:
            writer = open_writer(path, fps=fps, size=size)
            writer.__enter__()
        except ExportError as error:
            self.say(f"cannot record: {error}")
            return
        self._recording = _Recording(writer, Path(path), size, float(fps))
        self.say(f"recording to {path}")

    def _advance_recording(self, dt_s: float) -> None:
        """The held frame stayed on screen for dt_s: write it into every output slot that falls
        in that time (slot n at n / fps seconds)."""
        recording = self._recording
        if recording.held is None:
            return
        recording.clock_s += max(0.0, float(dt_s))
        recording.held_dt_s = max(0.0, float(dt_s))
        self._write_held_until(recording.clock_s)

    def _write_held_until(self, clock_s: float) -> None:
        recording = self._recording
        # round(): a frame time that lands within half a slot of a slot boundary counts as on it
        due = int(round(clock_s * recording.fps))
        while recording is self._recording and recording.writer.frames_written < due:
            try:
                recording.writer.write(recording.held)
            except ExportError as error:
                self._recording = None
                recording.writer.abort()
                self.say(f"recording stopped: {error}")

    def _hold_shown(self) -> None:
        frame = self.snapshot()
        width, height = self._recording.size
        if frame.shape[:2] != (height, width):
            cropped = np.ascontiguousarray(frame[:height, :width])
            frame = cropped if cropped.shape[:2] == (height, width) else \
                cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        self._recording.held = frame

    def stop_recording(self) -> Path | None:
        """Write the frame on screen for as long as the one before it stayed (at least one
        output frame in all), finish the file and return its path."""
        recording = self._recording
        if recording is None:
            return None
        if recording.held is not None:
            end_s = recording.clock_s + recording.held_dt_s
            self._write_held_until(max(end_s, 1.0 / recording.fps if recording.writer.frames_written == 0 else 0.0))
        if self._recording is None:  # a write failed and said so
            return None
        self._recording = None
        try:
            path = recording.writer.close()
        except ExportError as error:  # the file is not left half-written; playing goes on
            self.say(f"recording failed: {error}")
            return None
        self.say(f"recorded {recording.writer.frames_written} frames "
                 f"({recording.writer.frames_written / recording.fps:.1f} s) to {path}")
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


class Speaker:
    """Sound out through pygame's mixer (issue 18): the player hands it each output frame's
    sound, (n, 2) int16 at `rate`, as it shows the frame.

    The mixer plays one channel with one sound queued behind the playing one; what arrives while
    both are taken waits in `pending` and goes out as one sound when the queue frees. The sound
    for a frame is made when the frame is shown, so the picture and the sound stay together as
    long as the queue stays short: when the display clock runs ahead of the sound card's (they
    drift apart by tens of parts per million), or frames come faster than real time, the oldest
    pending sound beyond `max_pending_s` is dropped, so the offset is bounded (about a frame of
    queue plus the mixer's buffer) and never grows with time. A late display starves the
    mixer for a moment; the next frame's sound is its own frame's, so they are together again.
    """

    def __init__(self, rate: int, *, buffer_samples: int = 512, max_pending_s: float = 0.05):
        self.rate = int(rate)
        self.muted = False
        self.dropped_samples = 0
        self._max_pending = int(max_pending_s * self.rate)
        self._pending: list[np.ndarray] = []
        self._pending_samples = 0
        import pygame

        self._pg = pygame
        pygame.mixer.init(frequency=self.rate, size=-16, channels=2, buffer=int(buffer_samples))
        got = pygame.mixer.get_init()
        if got is None or got[0] != self.rate or got[2] != 2:
            pygame.mixer.quit()
            raise OSError(f"the sound device opened as {got}, not {self.rate} Hz stereo")
        self._channel = pygame.mixer.Channel(0)

    def play(self, samples: np.ndarray) -> None:
        """Queue one frame's sound, (n, 2) int16 (silence while muted, so the clock runs on)."""
        if samples.size == 0:
            return
        self._pending.append(np.zeros_like(samples) if self.muted else samples)
        self._pending_samples += samples.shape[0]
        excess = self._pending_samples - self._max_pending
        while excess > 0 and self._pending:  # bounded offset: drop the oldest
            head = self._pending[0]
            if head.shape[0] <= excess:
                self._pending.pop(0)
                self._pending_samples -= head.shape[0]
                self.dropped_samples += head.shape[0]
                excess -= head.shape[0]
            else:
                self._pending[0] = head[excess:]
                self._pending_samples -= excess
                self.dropped_samples += excess
                excess = 0
        self._pump()

    def _pump(self) -> None:
        channel = self._channel
        if not self._pending or channel.get_queue() is not None:
            return
        block = np.ascontiguousarray(np.concatenate(self._pending))  # (n, 2) int16
        self._pending.clear()
        self._pending_samples = 0
        sound = self._pg.mixer.Sound(buffer=block.tobytes())
        if channel.get_busy():
            channel.queue(sound)
        else:
            channel.play(sound)

    def set_muted(self, muted: bool) -> None:
        self.muted = bool(muted)
        self._channel.set_volume(0.0 if self.muted else 1.0)

    def close(self) -> None:
        if self._pg.mixer.get_init() is not None:
            self._pg.mixer.quit()

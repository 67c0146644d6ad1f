"""Where the window puts things: the picture, the controls panel, and the text blocks (status
overlay, key help, recording indicator, transient message). A pure function of sizes and texts,
so it is tested without a display; `engine.window` draws what it returns.

Rules (issue 15 item 5):
- the controls panel never covers the picture: it sits below the picture, or beside it when that
  leaves a larger picture; the picture is letterboxed in the rest of the window;
- the text blocks sit in the rest of the window (over the picture and its bars, never over the
  panel), never overlap one another and are never clipped: the font shrinks and the help splits
  into columns until everything fits (at 320x240 with four sliders it does at 11 px and up).

Rectangles are (x, y, width, height) in window pixels. `measure(text, font_size) -> (width,
height)` gives a text's size (pygame's font in the window; any monotone stand-in in tests).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

__all__ = ["Layout", "TextBlock", "compute_layout", "default_window_size", "intersects",
           "contains", "PANEL_ROW_PX", "FONT_SIZES"]

Rect = tuple[int, int, int, int]

PANEL_ROW_PX = 26  # one slider row: pygame_gui's slider buttons need about 20 px of height
PANEL_PAD_PX = 6  # margin inside the panel and between a label and its slider
PANEL_CELL_PX = 320  # width of a label and its slider when sliders share a row
PANEL_SIDE_WIDTH_PX = 300  # the panel's width when it sits beside the picture
TEXT_MARGIN_PX = 8  # text blocks keep this far from the window's and the panel's edges
BLOCK_PAD_PX = 6  # inside a text block's backdrop, around its lines
LINE_GAP_PX = 2
HELP_GAP_PX = 14  # between a help entry's key and its meaning, and between help columns
FONT_SIZES = (20, 18, 16, 14, 12, 11, 10)  # tried largest first; pygame's default font
MIN_PICTURE_PX = (640, 480)  # a small clip's picture is scaled up until it reaches one of these
MAX_PICTURE_WIDTH_PX = 1280  # a large clip's picture is scaled down to this width


def intersects(a: Rect, b: Rect) -> bool:
    """True when two rectangles share at least one pixel."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def contains(outer: Rect, inner: Rect) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1]
            and inner[0] + inner[2] <= outer[0] + outer[2] and inner[1] + inner[3] <= outer[1] + outer[3])


@dataclass(frozen=True)
class TextBlock:
    """A backdrop and the text runs drawn on it: (text, x, y) with (x, y) the run's top left."""

    rect: Rect
    runs: tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class Layout:
    window: tuple[int, int]  # (width, height)
    picture: Rect  # where the frame is drawn, scaled to fit with its aspect kept
    text_area: Rect  # the window less the panel: where text blocks may go
    panel: Rect | None  # the controls' backdrop (None: no sliders, or hidden)
    sliders: tuple[tuple[Rect, Rect], ...]  # per slider row: (label, slider)
    font_size: int  # of the text blocks
    overlay: TextBlock | None = None
    help: TextBlock | None = None
    recording: TextBlock | None = None
    message: TextBlock | None = None
    fits: bool = True  # False only when even the smallest font left help lines out

    def blocks(self) -> dict[str, Rect]:
        """Every drawn rectangle but the picture, by name (the text blocks, the panel, each
        slider and label): what must not overlap one another."""
        named = {name: getattr(self, name).rect for name in ("overlay", "help", "recording", "message")
                 if getattr(self, name) is not None}
        if self.panel is not None:
            named["panel"] = self.panel
        return named


def default_window_size(frame_size: tuple[int, int], *, slider_rows: int) -> tuple[int, int]:
    """The window for a frame of (width, height) when none is asked: the picture at the clip's
    size, scaled down to 1280 wide or up until 640 wide or 480 tall (a 144x144 clip shows at
    480x480), with the controls panel below it."""
    width, height = frame_size
    scale = min(1.0, MAX_PICTURE_WIDTH_PX / width)
    if width * scale < MIN_PICTURE_PX[0] and height * scale < MIN_PICTURE_PX[1]:
        scale = min(MIN_PICTURE_PX[0] / width, MIN_PICTURE_PX[1] / height)
    picture = (round(width * scale), round(height * scale))
    window_width = max(320, picture[0])
    panel = _panel_height(slider_rows, _panel_columns(slider_rows, window_width, 360))
    return window_width, max(240, picture[1] + panel)


def _panel_columns(rows: int, width: int, height: int) -> int:
    # sliders share a row when the window is wide (320 px a slider), or short (160 px: at
    # 320x240 one column of four rows would take half the picture)
    cell = PANEL_CELL_PX if height >= 360 else PANEL_CELL_PX // 2
    return max(1, min(rows, width // cell))


def _panel_height(rows: int, columns: int = 1) -> int:
    return math.ceil(rows / columns) * PANEL_ROW_PX + 2 * PANEL_PAD_PX if rows else 0


def _fit(area: Rect, frame_size: tuple[int, int]) -> tuple[Rect, float]:
    x, y, width, height = area
    frame_width, frame_height = frame_size
    scale = min(width / frame_width, height / frame_height) if width > 0 and height > 0 else 0.0
    shown = (max(1, round(frame_width * scale)), max(1, round(frame_height * scale)))
    return (x + (width - shown[0]) // 2, y + (height - shown[1]) // 2, *shown), scale


def _panel(window: tuple[int, int], frame_size, rows: int):
    """(panel, sliders, text area) with the panel below or beside, whichever shows more picture."""
    width, height = window
    columns = _panel_columns(rows, width, height)
    below_height = _panel_height(rows, columns)
    below_area = (0, 0, width, max(1, height - below_height))
    side_area = (0, 0, max(1, width - PANEL_SIDE_WIDTH_PX), height)
    _, below_scale = _fit(below_area, frame_size)
    _, side_scale = _fit(side_area, frame_size)
    if side_scale > 1.05 * below_scale and width - PANEL_SIDE_WIDTH_PX >= 160:
        columns = 1
        panel = (width - PANEL_SIDE_WIDTH_PX, 0, PANEL_SIDE_WIDTH_PX, height)
        area = side_area
        top = max(PANEL_PAD_PX, (height - _panel_height(rows)) // 2)  # rows centred on the side
    else:
        panel = (0, height - below_height, width, below_height)
        area = below_area
        top = panel[1] + PANEL_PAD_PX
    cell_width = (panel[2] - PANEL_PAD_PX) // columns
    label_width = max(76, min(150, round(cell_width * 0.4)))
    sliders = []
    for index in range(rows):
        row, column = divmod(index, columns)
        x = panel[0] + PANEL_PAD_PX + column * cell_width
        y = top + row * PANEL_ROW_PX
        slider_width = max(40, min(520, cell_width - 2 * PANEL_PAD_PX - label_width))
        sliders.append(((x, y, label_width, PANEL_ROW_PX - 4),
                        (x + label_width + PANEL_PAD_PX, y, slider_width, PANEL_ROW_PX - 4)))
    return panel, tuple(sliders), area


def compute_layout(window_size: tuple[int, int], frame_size: tuple[int, int], *,
                   slider_rows: int = 0, controls_visible: bool = True,
                   overlay: list[str] | None = None, help_entries: list[tuple[str, str]] | None = None,
                   help_title: str = "keys", recording: str | None = None, message: str | None = None,
                   measure: Callable[[str, int], tuple[int, int]]) -> Layout:
    """Place the picture, the panel of `slider_rows` sliders and the text blocks in a window.

    window_size, frame_size  (width, height) in pixels
    overlay       status lines, or None when the overlay is off
    help_entries  (key, meaning) pairs, or None when the help is off
    recording     the recording indicator's text ("REC 0:05"), or None
    message       a transient line, or None
    """
    width, height = (int(v) for v in window_size)
    if width < 1 or height < 1 or min(frame_size) < 1:
        raise ValueError(f"window and frame sizes must be positive, got {window_size}, {frame_size}")
    if slider_rows and controls_visible:
        panel, sliders, area = _panel((width, height), frame_size, slider_rows)
    else:
        panel, sliders, area = None, (), (0, 0, width, height)
    picture, _ = _fit(area, frame_size)
    layout = None
    for font_size in FONT_SIZES:
        layout = _place_text(area, font_size, overlay, help_entries, help_title, recording,
                             message, measure, last=font_size == FONT_SIZES[-1])
        if layout is not None:
            break
    blocks, fits = layout
    return Layout((width, height), picture, area, panel, sliders, font_size, fits=fits, **blocks)


def _widened(rect: Rect) -> Rect:
    """`rect` with a margin around it, so that neighbouring blocks do not touch."""
    return (rect[0] - LINE_GAP_PX * 2, rect[1] - LINE_GAP_PX * 2, rect[2] + LINE_GAP_PX * 4,
            rect[3] + LINE_GAP_PX * 4)


def _lines_block(lines, x: int, y: int, font_size: int, measure, line_height: int, *,
                 lead_px: int = 0) -> TextBlock:
    widths = [measure(line, font_size)[0] for line in lines]
    rect = (x, y, lead_px + max(widths) + 2 * BLOCK_PAD_PX, len(lines) * line_height + 2 * BLOCK_PAD_PX)
    runs = tuple((line, x + BLOCK_PAD_PX + lead_px, y + BLOCK_PAD_PX + k * line_height)
                 for k, line in enumerate(lines))
    return TextBlock(rect, runs)


def _place_text(area: Rect, font_size: int, overlay, help_entries, help_title, recording, message,
                measure, *, last: bool):
    """The text blocks at one font size, or None when they do not fit (unless `last`)."""
    ax, ay, aw, ah = area
    left, top, right, bottom = ax + TEXT_MARGIN_PX, ay + TEXT_MARGIN_PX, ax + aw - TEXT_MARGIN_PX, ay + ah - TEXT_MARGIN_PX
    line_height = measure("Ag", font_size)[1] + LINE_GAP_PX
    blocks: dict[str, TextBlock | None] = {"overlay": None, "help": None, "recording": None, "message": None}
    inside = (left, top, right - left, bottom - top)
    below = top  # the first free row under the overlay (top left)
    if overlay:
        blocks["overlay"] = _lines_block(overlay, left, top, font_size, measure, line_height)
        below = blocks["overlay"].rect[1] + blocks["overlay"].rect[3] + LINE_GAP_PX * 2
    floor = bottom  # the last free row above the recording badge and the message (bottom)
    if recording:  # top right beside the overlay, else bottom right; a red dot before the text
        dot = line_height
        size = _lines_block([recording], 0, 0, font_size, measure, line_height, lead_px=dot).rect
        block = _lines_block([recording], right - size[2], top, font_size, measure, line_height,
                             lead_px=dot)
        if blocks["overlay"] is not None and intersects(block.rect, _widened(blocks["overlay"].rect)):
            block = _lines_block([recording], right - size[2], bottom - size[3], font_size, measure,
                                 line_height, lead_px=dot)
            floor = block.rect[1] - LINE_GAP_PX * 2
        else:
            below = max(below, block.rect[1] + block.rect[3] + LINE_GAP_PX * 2)
        blocks["recording"] = block
    if message:  # bottom left, or above the badge when the two would meet
        size = _lines_block([message], 0, 0, font_size, measure, line_height).rect
        block = _lines_block([message], left, bottom - size[3], font_size, measure, line_height)
        if blocks["recording"] is not None and intersects(block.rect, blocks["recording"].rect):
            block = _lines_block([message], left, floor - size[3], font_size, measure, line_height)
        blocks["message"] = block
        floor = min(floor, block.rect[1] - LINE_GAP_PX * 2)
    fits = all(contains(inside, b.rect) for b in blocks.values() if b is not None) and below <= floor
    if help_entries:
        help_block, help_fits = _help_block(help_entries, help_title, (left, below, right - left, floor - below),
                                            font_size, measure, line_height, last=last)
        blocks["help"] = help_block
        fits = fits and help_fits
    if not fits and not last:
        return None
    return blocks, fits


def _help_block(entries, title, region: Rect, font_size: int, measure, line_height: int, *, last: bool):
    """Entries in 1-3 columns (key right-aligned, meaning after it) at the right of `region`; with
    `last` and no room, the entries that fit (the layout then says fits=False)."""
    rx, ry, rw, rh = region
    asked = len(entries)
    key_width = max(measure(key, font_size)[0] for key, _ in entries)
    meaning_width = max(measure(meaning, font_size)[0] for _, meaning in entries)
    column_width = key_width + HELP_GAP_PX + meaning_width
    for columns in (1, 2, 3):
        rows = math.ceil(len(entries) / columns)
        block_width = columns * column_width + (columns - 1) * HELP_GAP_PX + 2 * BLOCK_PAD_PX
        block_height = (rows + 1) * line_height + 2 * BLOCK_PAD_PX  # +1: the title
        if block_width <= rw and block_height <= rh:
            break
    else:
        if not last:
            return None, False
        columns = max(1, min(3, (rw - 2 * BLOCK_PAD_PX + HELP_GAP_PX) // (column_width + HELP_GAP_PX)))
        rows = max(0, min(math.ceil(len(entries) / columns), (rh - 2 * BLOCK_PAD_PX) // line_height - 1))
        entries = entries[: rows * columns]
        block_width = columns * column_width + (columns - 1) * HELP_GAP_PX + 2 * BLOCK_PAD_PX
        block_height = (rows + 1) * line_height + 2 * BLOCK_PAD_PX
    x = rx + max(0, rw - block_width)  # to the right: a centred subject stays in view
    runs = [(title, x + BLOCK_PAD_PX, ry + BLOCK_PAD_PX)]
    for index, (key, meaning) in enumerate(entries):
        column, row = divmod(index, rows)
        column_x = x + BLOCK_PAD_PX + column * (column_width + HELP_GAP_PX)
        y = ry + BLOCK_PAD_PX + (row + 1) * line_height
        runs.append((key, column_x + key_width - measure(key, font_size)[0], y))  # right-aligned
        runs.append((meaning, column_x + key_width + HELP_GAP_PX, y))
    rect = (x, ry, block_width, block_height)
    return TextBlock(rect, tuple(runs)), len(entries) == asked and rh > 0 and contains(region, rect)

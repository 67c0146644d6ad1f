"""The window's layout as a pure function (engine.layout): no display needed.

A stand-in text measure (a character is 0.4 x the font size wide, a line 0.75 x high: pygame's
default font is 0.35 x and 0.7 x) drives it over window sizes from 320x240 to 1920x1080."""
import itertools

import pytest

from engine.layout import compute_layout, contains, default_window_size, intersects
from engine.player import APP_KEYS_HELP
from engine.window import STANDARD_KEYS_HELP

HELP = APP_KEYS_HELP + STANDARD_KEYS_HELP
OVERLAY = ["  30.0 fps   frame 1234 / 2000   paused", "jumps 120   blend 2-way   crossfade over 4 frames",
           "speed 1.00x   variety 9.13   range 100-1999   seed 12"]


def measure(text, font_size):
    return round(0.4 * font_size * len(text)), round(0.75 * font_size)


WINDOWS = [(320, 240), (400, 300), (640, 480), (800, 450), (1024, 768), (1280, 720), (1920, 1080),
           (360, 640)]
FRAMES = [(352, 288), (1280, 720), (144, 144), (200, 150), (640, 360)]


@pytest.mark.parametrize("window,frame", list(itertools.product(WINDOWS, FRAMES)))
def test_nothing_covers_the_picture_and_text_never_overlaps_or_clips(window, frame):
    layout = compute_layout(window, frame, slider_rows=4, overlay=OVERLAY, help_entries=HELP,
                            recording="REC 0:05", measure=measure)
    whole = (0, 0, *window)
    assert contains(whole, layout.picture) and contains(whole, layout.panel)
    assert not intersects(layout.panel, layout.picture)
    for label, slider in layout.sliders:
        assert contains(layout.panel, label) and contains(layout.panel, slider)
        assert not intersects(label, slider)
    # the picture keeps its aspect (to the rounding of a pixel)
    assert abs(layout.picture[2] / layout.picture[3] - frame[0] / frame[1]) < 2 / min(layout.picture[2:])
    blocks = layout.blocks()
    assert set(blocks) == {"overlay", "help", "recording", "panel"}
    for (name_a, a), (name_b, b) in itertools.combinations(blocks.items(), 2):
        assert not intersects(a, b), (name_a, a, name_b, b)
    for name in ("overlay", "help", "recording"):
        block = getattr(layout, name)
        assert contains(layout.text_area, block.rect), name
        for text, x, y in block.runs:  # every line inside its backdrop: nothing clipped
            assert contains(block.rect, (x, y, *measure(text, layout.font_size))), (name, text)
    assert layout.fits and len(layout.help.runs) == 1 + 2 * len(HELP)  # the title, keys, meanings
    assert layout.font_size >= (16 if min(window) >= 480 else 10)  # readable where there is room


def test_the_panel_goes_beside_a_tall_picture_and_below_a_wide_one():
    wide = compute_layout((1280, 720), (1280, 720), slider_rows=4, measure=measure)
    assert wide.panel[1] > 0 and wide.panel[2] == 1280  # below, the full width
    tall = compute_layout((1280, 720), (352, 288), slider_rows=4, measure=measure)
    assert tall.panel[0] > 0 and tall.panel[3] == 720  # beside: a larger picture than below
    hidden = compute_layout((1280, 720), (1280, 720), slider_rows=4, controls_visible=False,
                            measure=measure)
    assert hidden.panel is None and hidden.picture == (0, 0, 1280, 720)


def test_windows_fit_the_picture_and_the_panel_and_scale_small_clips_up():
    # a 144x144 clip shows at 480x480 (up to 480 tall), the panel below it
    width, height = default_window_size((144, 144), slider_rows=4)
    layout = compute_layout((width, height), (144, 144), slider_rows=4, measure=measure)
    assert layout.picture[2:] == (480, 480) and not intersects(layout.panel, layout.picture)
    # a 1920x1080 clip is scaled down to 1280 wide; the window grows by the panel only
    width, height = default_window_size((1920, 1080), slider_rows=4)
    layout = compute_layout((width, height), (1920, 1080), slider_rows=4, measure=measure)
    assert layout.picture[2:] == (1280, 720) and width == 1280 and height == 720 + layout.panel[3]

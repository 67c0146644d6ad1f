"""The interactive steer's state without a window (issue 14): a click target holds while the
mouse moves, until the next click; the school keeps apart; the overlay shows the frame rate."""
import argparse

import numpy as np
import pytest

from engine.commands.steer import SteerSession, _Background, _make_sprites
from engine.sprite import PointerTarget, SpriteTexture
from engine.window import WindowEvent


@pytest.fixture(scope="module")
def texture(steerable_sprite):
    return SpriteTexture(*steerable_sprite)


def _session(texture, count=3):
    args = argparse.Namespace(sprite="x", clip=None, scale=1.0, mode="future", temperature=0.0,
                              ground_speed=None, start=None, seed=0, sprites=count, speed=1.0)
    background = _Background(None, (320, 240), seed=0)
    make = lambda n: _make_sprites(texture, argparse.Namespace(**{**vars(args), "sprites": n}), (320, 240))
    return SteerSession(texture, make(count), background, make_more=make)


def test_pointer_target_holds_a_click_until_the_next_click():
    pointer = PointerTarget((10.0, 10.0))
    pointer.moved((50, 60))
    assert pointer.target == (50.0, 60.0)  # follows the mouse
    pointer.clicked((100, 120))
    pointer.moved((5, 5))
    pointer.moved((300, 7))
    assert pointer.target == (100.0, 120.0)  # held while the mouse moves
    pointer.clicked((30, 40))
    assert pointer.target == (30.0, 40.0)  # the next click drops the next target
    pointer.clicked((1, 2), button=3)
    pointer.moved((70, 80))
    assert pointer.target == (70.0, 80.0)  # a right click lets go: the mouse leads again


def test_session_click_target_holds_while_the_mouse_moves(texture):
    session = _session(texture)
    session.handle(WindowEvent("mouse_down", value=1, pos=(200.0, 50.0)))
    for k in range(30):
        session.handle(WindowEvent("mouse_move", pos=(10.0 + k, 220.0)))
        session.update(1 / texture.fps)
    assert session.target == (200.0, 50.0)
    first = session.sprites[0].state
    assert np.hypot(first.x - 200, first.y - 50) < np.hypot(160 - 200, 120 - 50)  # it swam there
    assert "held" in session.overlay()[-1]


def test_overlay_shows_the_display_rate_and_fish_slider_adds_instances(texture):
    session = _session(texture)
    for _ in range(60):
        frame = session.update(1 / 20)  # a display running at 20 fps
    assert frame.shape == (240, 320, 3)
    line = session.overlay()[0]
    assert line.startswith("fps ") and float(line.split()[1]) == pytest.approx(20, abs=1)
    session.handle(WindowEvent("slider", "fish", 6.0))
    session.update(1 / 20)
    assert session.shown == 6 and len({id(s.state) for s in session.sprites}) == 6
    assert all(s.texture is texture for s in session.sprites)  # one shared texture
    session.handle(WindowEvent("slider", "speed", 2.0))
    played = session.sprites[0].update(1 / texture.fps, (0.0, 0.0))
    assert played == 2  # the speed slider doubles the playback rate

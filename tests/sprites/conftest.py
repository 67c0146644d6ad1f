"""Synthetic sprite material built in code, with known answers.

- `disc_clip`: a textured disc (radius 9 px) that swims a star over a textured plate: out from the
  centre and back in each of 8 directions (legs of 10 frames at 3 px/frame), so every direction
  is covered by a stretch of constant, known velocity. The true alpha is known (supersampled disc).
- `steerable_sprite`: a small procedural fish clip (assets.fish at 40 px, 420 frames) with its
  control analysis: turns both ways at every heading.
- `dead_end_sprite`: a clip with a trap (see its docstring).
"""
from __future__ import annotations

import numpy as np
import pytest

import cv2

RADIUS = 9.0
LEG = 10          # frames per leg
SPEED = 3.0       # px/frame
SIZE = (120, 160)  # (H, W) of the disc clip


def disc_alpha(center, shape=SIZE, radius=RADIUS, supersample=4):
    """The exact soft alpha of a disc: (H, W) float32, coverage of each pixel (4x4 samples)."""
    h, w = shape
    ss = supersample
    ys, xs = np.mgrid[0:h * ss, 0:w * ss].astype(np.float32)
    inside = ((xs + 0.5) / ss - 0.5 - center[0]) ** 2 + ((ys + 0.5) / ss - 0.5 - center[1]) ** 2 <= radius ** 2
    return inside.reshape(h, ss, w, ss).mean(axis=(1, 3)).astype(np.float32)


def disc_texture(center, shape=SIZE):
    """Colour of the disc: warm radial stripes (H, W, 3) float32."""
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = np.arctan2(ys - center[1], xs - center[0])
    r = np.hypot(xs - center[0], ys - center[1])
    red = 200 + 40 * np.sin(3 * angle)
    green = 90 + 50 * np.cos(r * 0.9)
    blue = 40 + 0 * r
    return np.stack([red, green, blue], axis=2)


def star_path():
    """Centres (T, 2) and true velocities (T, 2): out and back along 8 directions."""
    centre = np.array([SIZE[1] / 2, SIZE[0] / 2])
    points, velocities = [], []
    position = centre.copy()
    for k in range(8):
        angle = k * np.pi / 4
        step = SPEED * np.array([np.cos(angle), np.sin(angle)])
        for sign in (1, -1):
            for _ in range(LEG):
                points.append(position.copy())
                velocities.append(sign * step)
                position = position + sign * step
    return np.array(points), np.array(velocities)


def render_disc_clip(background, centres, *, extra=None):
    """Frames (T, H, W, 3) uint8 and true alphas (T, H, W) of the disc over `background`."""
    frames, alphas = [], []
    for t, c in enumerate(centres):
        a = disc_alpha(c)
        image = background.astype(np.float32) * (1 - a[..., None]) + disc_texture(c) * a[..., None]
        if extra is not None:
            a2, colour = extra(t)
            image = image * (1 - a2[..., None]) + colour * a2[..., None]
        frames.append(np.clip(np.round(image), 0, 255).astype(np.uint8))
        alphas.append(a)
    return np.stack(frames), np.stack(alphas)


def plate(seed=0):
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 1, (SIZE[0] // 8 + 1, SIZE[1] // 8 + 1, 3)).astype(np.float32)
    smooth = cv2.resize(noise, (SIZE[1], SIZE[0]), interpolation=cv2.INTER_CUBIC)
    return np.clip(40 + 50 * smooth, 0, 255).astype(np.uint8)  # dark blue-grey texture


@pytest.fixture(scope="session")
def disc_clip():
    centres, velocities = star_path()
    frames, alphas = render_disc_clip(plate(), centres)
    return frames, alphas, centres, velocities


@pytest.fixture(scope="session")
def steerable_sprite():
    from assets.fish import FishConfig, fish_sprite_clip
    from precompute.control import ControlConfig, analyze_control
    from precompute.sprites import SpriteClip

    config = FishConfig(frames=420, size=40, speeds=(1.0, 2.0, 3.5), supersample=1, seed=11)
    rgba, velocities, fps = fish_sprite_clip(config)
    sprite = SpriteClip.from_arrays(rgba, velocities, fps=fps)
    return sprite, analyze_control(sprite, ControlConfig(feature_width=16))


def _blob(colour, radius, shape=(24, 24)):
    """A disc sprite frame (S, S, 4) uint8 centred, in `colour`."""
    a = disc_alpha(((shape[1] - 1) / 2, (shape[0] - 1) / 2), shape, radius)
    rgba = np.zeros(shape + (4,), np.float32)
    rgba[..., :3] = colour
    rgba[..., 3] = a * 255
    return np.clip(np.round(rgba), 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def dead_end_sprite():
    """A trap for greedy choice. Segment A (200 frames): a blue disc pulsing (radius 8 +- 1.5,
    period 10) that swims 25 deg off the wanted direction (right) at 3 px/frame, forever (its
    repeating pulse lets it jump back at no visual cost). Segment B (80 frames): the same blue disc
    swimming exactly right at 3 px/frame for 20 frames while it grows steadily (radius 6.5 -> 9.5,
    within A's range, so A jumps into it cheaply), then turns red within 8 frames while it slows
    to a stop, and stays stopped for 52 frames before the segment ends.

    Greedy sees B as the better next frame (it is on course), and once in B its natural step is
    always the cheapest next frame by a clear margin: B's frames are all distinct (it grows, no
    pulse), so no jump back inside B is free, and leaving costs either the off-course penalty (to A)
    or a visible jump (from a reddening frame). By t = 25 no link leads back out (the cheapest
    jumps are all into the identical stopped frames): greedy stalls for good. The future cost sees
    the stall coming and leaves B while still blue (back to A, and round again).
    Do not build B's swim from repeats (a periodic pulse): identical frames make free loops inside
    B that both modes would ride forever, and the trap would depend on rounding."""
    from precompute.control import ControlConfig, analyze_control
    from precompute.sprites import SpriteClip

    frames, velocities, segments = [], [], []
    heading = np.radians(25)
    for t in range(200):
        radius = 8 + 1.5 * np.sin(2 * np.pi * t / 10)
        frames.append(_blob((60, 90, 230), radius))
        velocities.append(3 * np.array([np.cos(heading), np.sin(heading)]))
        segments.append(0)
    for t in range(80):
        radius = 6.5 + 0.15 * min(t, 20)  # grows, then keeps its size: no two swim frames alike
        red = float(np.clip((t - 20) / 8, 0, 1))
        colour = (60 + red * 180, 90 - red * 60, 230 - red * 200)
        speed = 3.0 * float(np.clip(1 - (t - 20) / 8, 0.02, 1))
        frames.append(_blob(colour, radius))
        velocities.append((speed, 0.0))
        segments.append(1)
    sprite = SpriteClip.from_arrays(np.stack(frames), np.array(velocities, np.float32), fps=30.0,
                                    segments=np.array(segments))
    config = ControlConfig(feature_width=12, direction_weight=10.0, velocity_weight=0.2,
                           jump_penalty=0.0, speed_quantiles=(0.5, 0.9))
    return sprite, analyze_control(sprite, config)

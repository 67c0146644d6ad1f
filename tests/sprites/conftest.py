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


# --- a walker in place (issue 14): a stick figure on a treadmill ----------------------------------
WALK_PERIOD = 24        # frames per stride (both legs)
WALK_STRIDE_PX = 12.0   # the stance foot sweeps from +12 to -12 px (x) around the hip in half a period
WALK_FOOT_SPEED = 2 * WALK_STRIDE_PX / (WALK_PERIOD / 2)  # 2 px/frame backward: the treadmill


def walker_foot(t: float, leg: int) -> tuple[float, float]:
    """(x ahead of the hip, lift) in px of foot `leg` (0 or 1) at time t (frames): on the ground
    (lift 0) for the first half of its cycle, sliding back at WALK_FOOT_SPEED, then swinging."""
    phase = ((t / WALK_PERIOD) + 0.5 * leg) % 1.0
    if phase < 0.5:  # stance: on the ground, moving back
        return WALK_STRIDE_PX * (1 - 4 * phase), 0.0
    q = (phase - 0.5) / 0.5  # swing: forward and lifted
    return WALK_STRIDE_PX * (-1 + 2 * q), 10.0 * float(np.sin(np.pi * q))


def walker_frame(t: float, *, side: int = 96, facing: int = 1) -> np.ndarray:
    """One registered frame (side, side, 4) uint8 of a figure walking in place, facing +x
    (`facing` 1) or -x: a torso, a head, and two legs of different colours. Each foot is on the
    ground for half of the period, sliding backward at WALK_FOOT_SPEED (a treadmill), then swings
    forward lifted. Drawn at 4x and area-averaged (soft edges)."""
    ss = 4
    big = np.zeros((side * ss, side * ss, 4), np.uint8)
    cx = side / 2
    hip = (cx, side * 0.55)
    ground = side * 0.92

    def p(x, y):
        return (int(round(x * ss)), int(round(y * ss)))

    cv2.rectangle(big, p(cx - 7, side * 0.22), p(cx + 7, hip[1]), (120, 90, 150, 255), -1)  # torso (not green: a green screen keys it out)
    head = (cx + 2 * facing, side * 0.22 - 6)  # on the torso at any side: one matte
    cv2.circle(big, p(*head), int(7 * ss), (230, 190, 160, 255), -1)
    cv2.circle(big, p(head[0] + 5 * facing, head[1]), int(2 * ss), (40, 30, 30, 255), -1)  # the nose side
    for leg, colour in ((0, (40, 60, 200, 255)), (1, (200, 50, 40, 255))):
        x, lift = walker_foot(t, leg)
        foot = (cx + facing * x, ground - lift)
        cv2.line(big, p(*hip), p(*foot), colour, int(5 * ss))
        cv2.line(big, p(*foot), p(foot[0] + 5 * facing, foot[1]), colour, int(3 * ss))  # the shoe
    small = cv2.resize(big.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA)
    a = small[..., 3:] / 255
    rgb = small[..., :3] / np.maximum(a, 1e-6)
    out = np.concatenate([rgb, small[..., 3:]], axis=2)
    out[small[..., 3] < 1] = 0
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


WALK_SEGMENTS = ((100, 0.0), (45, 9.0))  # (frames, walk-cycle time of the first frame) per segment


def walker_time(frame: int) -> float:
    """The walk-cycle time (frames) that sprite frame `frame` of `walker_sprite_clip()` shows."""
    start = 0
    for length, t0 in WALK_SEGMENTS:
        if frame < start + length:
            return t0 + frame - start
        start += length
    raise IndexError(frame)


def walker_sprite_clip(*, segment_lengths=tuple(n for n, _ in WALK_SEGMENTS),
                       starts=tuple(t for _, t in WALK_SEGMENTS), seed: int = 0):
    """A SpriteClip of the walker in place: segments of the given lengths, each starting at the
    given time of the walk cycle (frames), centroid jitter of ~0.1 px/frame."""
    from precompute.sprites import SpriteClip

    rng = np.random.default_rng(seed)
    frames, segments = [], []
    for k, (length, start) in enumerate(zip(segment_lengths, starts)):
        frames += [walker_frame(start + t) for t in range(length)]
        segments += [k] * length
    n = len(frames)
    velocities = rng.normal(0, 0.08, (n, 2)).astype(np.float32)
    return SpriteClip.from_arrays(np.stack(frames), velocities, fps=30.0, segments=np.array(segments))


@pytest.fixture(scope="session")
def walker_sprite():
    from precompute.control import ControlConfig, analyze_control

    sprite = walker_sprite_clip()
    return sprite, analyze_control(sprite, ControlConfig(feature_width=16))

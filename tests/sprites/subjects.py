"""Synthetic footage for issue 14 (identity and bounded memory), built in code, rendered a frame
at a time so that a clip of any length streams without being held.

- `crossing_frame(t)`: two discs of the same size and different colours (red from the left, blue
  from the right) on a dark textured plate, that meet in the middle, stay merged for a while (one
  blob: position alone cannot tell who is who when they part), then part the way they came in
  (each turns back). The true owner of every frame is known.
- `walker_frame(t)`: a person-like figure about 530 px tall walking in place on a green screen,
  1280x720 (the issue's walker: the matte is clean and large, its centroid barely moves).
"""
from __future__ import annotations

import cv2
import numpy as np

CROSSING_SIZE = (120, 200)   # (H, W)
CROSSING_FRAMES = 120
CROSSING_RADIUS = 10.0
RED = (220, 60, 50)
BLUE = (50, 90, 230)


def _textured_plate(shape, seed=3):
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 1, (shape[0] // 8 + 1, shape[1] // 8 + 1, 3)).astype(np.float32)
    smooth = cv2.resize(noise, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.clip(20 + 30 * smooth, 0, 255).astype(np.uint8)


def crossing_paths(frames: int = CROSSING_FRAMES):
    """Centres (T, 2) of the red and the blue disc. Both head for the middle at 2 px/frame, meet
    (overlapping) around frames 45-75, and go back out the way they came, each along a wave so
    that its velocity keeps changing."""
    t = np.arange(frames, dtype=np.float64)
    w = CROSSING_SIZE[1]
    # distance from the middle: 80 px at t = 0, 6 px (overlapping) for t in 45..75, 80 px again at the end
    gap = np.interp(t, [0, 45, 75, frames - 1], [80, 6, 6, 80])
    wave = 18 * np.sin(t * 2 * np.pi / 60)
    red = np.stack([w / 2 - gap, 60 + wave], axis=1)
    blue = np.stack([w / 2 + gap, 60 - wave], axis=1)
    return red, blue


def _disc(shape, centre, radius, supersample=4):
    h, w = shape
    ss = supersample
    ys, xs = np.mgrid[0:h * ss, 0:w * ss].astype(np.float32)
    inside = ((xs + 0.5) / ss - 0.5 - centre[0]) ** 2 + ((ys + 0.5) / ss - 0.5 - centre[1]) ** 2 <= radius ** 2
    return inside.reshape(h, ss, w, ss).mean(axis=(1, 3)).astype(np.float32)


def crossing_frame(t: int, *, plate=None) -> np.ndarray:
    """Frame t (H, W, 3) uint8 of the crossing clip; the blue disc passes in front."""
    plate = _textured_plate(CROSSING_SIZE) if plate is None else plate
    red, blue = crossing_paths()
    image = plate.astype(np.float32)
    for centre, colour in ((red[t], RED), (blue[t], BLUE)):
        a = _disc(CROSSING_SIZE, centre, CROSSING_RADIUS)[..., None]
        shade = np.float32(colour) * (0.85 + 0.15 * np.cos(np.linspace(0, np.pi, CROSSING_SIZE[1])))[None, :, None]
        image = image * (1 - a) + shade * a
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def crossing_clip() -> np.ndarray:
    """The whole crossing clip (T, H, W, 3) uint8 (small: 120 x 120 x 200)."""
    plate = _textured_plate(CROSSING_SIZE)
    return np.stack([crossing_frame(t, plate=plate) for t in range(CROSSING_FRAMES)])


WALKER_SIZE = (720, 1280)   # (H, W)
SCREEN = (40, 178, 64)      # chroma green


def walker_frame(t: int, *, period: float = 30.0, size=WALKER_SIZE, height_px: float = 530.0) -> np.ndarray:
    """Frame t (H, W, 3) uint8: a figure walking in place on a green screen (gait period in frames)."""
    h, w = size
    image = np.empty((h, w, 3), np.uint8)
    image[:] = SCREEN
    # a little unevenness of the screen, as real ones have (fixed, cheap)
    image[:, : w // 2, 1] -= 6
    k = height_px / 530.0
    phase = 2 * np.pi * t / period
    cx = w / 2 + 4 * np.sin(phase)                       # the centroid barely moves
    hip_y = h / 2 + 60 * k + 6 * k * np.abs(np.sin(phase))  # bobs twice per stride
    hip = np.array([cx, hip_y])
    shoulder = hip - [0, 190 * k]
    lw = int(round(34 * k))

    def limb(start, angle, length, colour, width):
        end = start + length * np.array([np.sin(angle), np.cos(angle)])
        cv2.line(image, tuple(int(v) for v in start), tuple(int(v) for v in end), colour, width, cv2.LINE_AA)
        return end

    swing = 0.45 * np.sin(phase)
    for side, colour in ((-1, (40, 50, 110)), (1, (55, 65, 130))):  # legs: trousers, knee bends
        knee = limb(hip, side * swing, 120 * k, colour, lw)
        foot = limb(knee, side * swing - 0.35 * max(0.0, np.sin(phase * side)), 115 * k, colour, lw)
        cv2.ellipse(image, (int(foot[0] + 14 * k), int(foot[1])), (int(22 * k), int(9 * k)), 0, 0, 360,
                    (30, 30, 30), -1, cv2.LINE_AA)
    cv2.ellipse(image, (int(cx), int(hip_y - 95 * k)), (int(48 * k), int(105 * k)), 0, 0, 360,
                (200, 70, 60), -1, cv2.LINE_AA)  # torso: a red shirt
    for side in (-1, 1):  # arms swing against the legs
        elbow = limb(shoulder + [side * 40 * k, 10 * k], -side * swing, 95 * k, (190, 65, 55), int(24 * k))
        limb(elbow, -side * swing + 0.3, 85 * k, (225, 180, 150), int(18 * k))
    cv2.circle(image, (int(cx), int(shoulder[1] - 45 * k)), int(38 * k), (225, 180, 150), -1, cv2.LINE_AA)
    cv2.circle(image, (int(cx), int(shoulder[1] - 62 * k)), int(34 * k), (60, 40, 30), -1, cv2.LINE_AA)  # hair
    return image


def drifting_disc_frame(t: int, *, plate: np.ndarray, radius: int = 24) -> np.ndarray:
    """Frame t of a large clip (plate's size): a small orange disc drifting on a textured plate.
    Small on purpose: the output (its crops) stays tiny, so memory shows what extraction keeps."""
    h, w = plate.shape[:2]
    frame = plate.copy()
    x = w / 2 + 0.35 * w * np.sin(2 * np.pi * t / 90)
    y = h / 2 + 0.3 * h * np.sin(2 * np.pi * t / 70)
    cv2.circle(frame, (int(round(x)), int(round(y))), radius, (235, 140, 40), -1, cv2.LINE_AA)
    return frame


def large_plate(size=WALKER_SIZE) -> np.ndarray:
    """A dark textured plate of `size` (H, W): the background of `drifting_disc_frame`."""
    return _textured_plate(size, seed=5)

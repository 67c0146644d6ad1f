"""A synthetic clip whose in-between frames are known exactly: a textured disc moving over a
textured background. `disc_frame(time)` renders any fractional time, so the true frame between
frames s and s+k at t is `disc_frame(s + t * k)`."""
from __future__ import annotations

import numpy as np

HEIGHT, WIDTH = 48, 64


def _background(height, width):
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    base = 90 + 40 * np.sin(xs / 5.0) * np.cos(ys / 7.0)  # (H, W)
    return np.stack([base, base * 0.8 + 20, 150 - base * 0.5], axis=-1)  # (H, W, 3)


def disc_frame(time: float, *, height: int = HEIGHT, width: int = WIDTH, flat: bool = False) -> np.ndarray:
    """The frame at a (fractional) time: (height, width, 3) uint8. The disc's centre travels a
    circle-free back-and-forth path at constant speed (1.5 px per frame), its stripes move with it.
    `flat`: over a plain grey background (then a crossfade between far-apart times shows two
    see-through discs, a ghost no real frame has)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    period = 2 * (width - 24) / 1.5  # frames for one back-and-forth
    phase = (time % period) / period
    cx = 12 + (width - 24) * (2 * phase if phase < 0.5 else 2 - 2 * phase)
    cy = height / 2 + 6 * np.sin(2 * np.pi * time / 40.0)
    dx, dy = xs - cx, ys - cy
    radius = np.sqrt(dx * dx + dy * dy)
    inside = np.clip(10.5 - radius, 0, 1)[..., None]  # anti-aliased edge, (H, W, 1)
    # texture attached to the disc (broader on the flat background: the disc, not its stripes, moves visibly)
    stripes = 128 + 100 * np.sin((dx + 0.5 * dy) / (4.0 if flat else 1.8))
    disc = np.stack([stripes, 255 - stripes, np.full_like(stripes, 60)], axis=-1)
    background = np.full((height, width, 3), 110.0, np.float32) if flat else _background(height, width)
    out = inside * disc + (1 - inside) * background
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def disc_clip(n_frames: int = 60, **size) -> np.ndarray:
    """(n_frames, H, W, 3) uint8 frames at integer times."""
    return np.stack([disc_frame(float(i), **size) for i in range(n_frames)])

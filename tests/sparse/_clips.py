"""Synthetic feature clips for the sparse tests: recurring motion with known loops, in code."""
from __future__ import annotations

import numpy as np


def orbit_features(n: int, *, height: int = 14, width: int = 24, period: float = 37.0,
                   seed: int = 0) -> np.ndarray:
    """(n, height*width*3) uint8 features of a blob orbiting with a slowly drifting period,
    light sensor noise, and a band of novelty (a lit strip) every third stretch of 300 frames.

    Whole-number features, like area-downscaled uint8 frames. The orbit recurs, so every frame
    has jumps to other laps; the novelty stretches have their jumps only among themselves.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = np.arange(n)
    phase = np.cumsum(2 * np.pi / (period + 6 * np.sin(t / 250.0)))  # (n,)
    cx = width / 2 + width / 3 * np.cos(phase)
    cy = height / 2 + height / 3 * np.sin(2 * phase)
    out = np.empty((n, height, width, 3), np.uint8)
    colour = np.array([1.0, 0.7, 0.4], np.float32)
    for start in range(0, n, 1024):  # (b, H, W) blocks: no per-pixel Python loop
        s = slice(start, min(n, start + 1024))
        blob = np.exp(-((xx[None] - cx[s, None, None]) ** 2 + (yy[None] - cy[s, None, None]) ** 2) / 6.0)
        image = (40 + 180 * blob)[..., None] * colour  # (b, H, W, 3)
        image += rng.normal(0, 1.5, image.shape).astype(np.float32)
        novelty = ((t[s] // 300) % 3 == 2)[:, None, None, None]
        image[:, : height // 3] += np.where(novelty, 40.0, 0.0)[:, :, :, 0:1]
        out[s] = np.clip(image, 0, 255).round()
    return out.reshape(n, -1)


def link_set(arrays: dict) -> set:
    """{(i, j)} of the saved link arrays."""
    offsets = arrays["link_offsets"]
    sources = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    return set(zip(sources.tolist(), arrays["link_targets"].tolist()))

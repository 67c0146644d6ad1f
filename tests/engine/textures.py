"""Synthetic textures with known answers for the engine tests (no decoding, no analysis)."""
from __future__ import annotations

import numpy as np

from engine.texture import VideoTexture

SIGMA = 2.0


def coloured_frames(n_frames: int, height: int = 24, width: int = 32) -> np.ndarray:
    """(T, H, W, 3) uint8: frame t is a distinct flat colour plus a gradient, so every source frame
    can be told apart in a rendered output."""
    t = np.arange(n_frames, dtype=np.int64)[:, None, None, None]
    y = np.arange(height)[None, :, None, None]
    x = np.arange(width)[None, None, :, None]
    c = np.arange(3)[None, None, None, :]
    return ((t * 37 + c * 71 + x * 3 + y * 2) % 256).astype(np.uint8)


def chain_texture(n_frames: int = 40, *, jumps=((7, np.log(2.0)), (17, np.log(4.0))), frames=None,
                  fps: float = 30.0) -> VideoTexture:
    """Every frame i links to i+1 (future cost 0; frame T-1 to 0 instead) and to (i + offset) % T
    for each (offset, cost / sigma) in `jumps`. With the defaults the link probabilities of every
    row are exactly [4/7, 2/7, 1/7] at variety 1 (exp(0), exp(-ln 2), exp(-ln 4), normalised)."""
    offsets = [0]
    targets, costs = [], []
    for i in range(n_frames):
        targets.append((i + 1) % n_frames)
        costs.append(0.0)
        for offset, cost in jumps:
            targets.append((i + offset) % n_frames)
            costs.append(cost * SIGMA)
        offsets.append(len(targets))
    if frames is None:
        frames = coloured_frames(n_frames)
    return VideoTexture.from_arrays(
        frames, link_offsets=np.array(offsets), link_targets=np.array(targets),
        link_future_costs=np.array(costs, np.float32), link_visual_costs=np.array(costs, np.float32),
        fps=fps, sigma=SIGMA, source="synthetic")

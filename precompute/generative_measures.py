"""Measures that fit a generator (issue 13): is a transition frame like a real frame, and does the
picture step no further than the clip's own motion?

PSNR rewards the expected frame, which for a stochastic texture is a blur; what a viewer sees at
a jump is a frame unlike any real one (ghost, blur, tear) or a step larger than the clip's motion.
So, per way of rendering a jump:

- `realism`: each transition frame's RMS distance to its nearest real frame (whole frame), the
  same per cell of a 4 x 4 grid (each cell against the nearest real cell at the same place, the
  worst cell kept: a ghosted limb is small against the whole frame), and the step from each
  transition frame to the next output frame; whole-frame figures in median natural steps of the
  clip, cell figures in the median worst-cell natural step. This is the definition of
  ../shared/tools/quality.py `realism` (frames area-resized to 64 px wide, 0..255 scale), so the
  offline figure and the outside one agree;
- `two_sample_accuracy`: a small CNN trained to tell real frames from a method's transition
  frames; its held-out accuracy (0.5: indistinguishable).

Numpy in, numpy out; torch only inside `two_sample_accuracy`.
"""
from __future__ import annotations

import cv2
import numpy as np

__all__ = ["REALISM_WIDTH", "features", "natural_medians", "nearest_real", "nearest_real_local",
           "realism", "two_sample_accuracy"]

REALISM_WIDTH = 64  # px: quality.py's comparison width (SIZE)
GRID = 4  # cells per side of the local measure (quality.py's 4 x 4)


def features(frames, width: int = REALISM_WIDTH) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, h, width, 3) float32, area-resized (quality.py's load_frames)."""
    frames = np.asarray(frames)
    height = max(1, round(frames.shape[1] * width / frames.shape[2]))
    return np.stack([cv2.resize(np.asarray(f), (width, height), interpolation=cv2.INTER_AREA)
                     for f in frames]).astype(np.float32)


def _cells(small: np.ndarray) -> np.ndarray:
    """(T, h, w, 3) -> (T, 16, cell pixels): the 4 x 4 grid, as quality.py cuts it."""
    h, w = small.shape[1] // GRID * GRID, small.shape[2] // GRID * GRID
    a = small[:, :h, :w]
    return a.reshape(len(a), GRID, h // GRID, GRID, w // GRID, 3).transpose(0, 1, 3, 2, 4, 5).reshape(
        len(a), GRID * GRID, -1)


def natural_medians(real_small: np.ndarray) -> tuple[float, float]:
    """(median natural step, median worst-cell natural step) of a clip's features (T, h, w, 3)."""
    steps = np.sqrt(np.mean((real_small[1:] - real_small[:-1]) ** 2, axis=(1, 2, 3)))
    cells = _cells(real_small)
    local = np.sqrt(np.mean((cells[1:] - cells[:-1]) ** 2, axis=2)).max(axis=1)
    median = float(np.median(steps[steps > 0])) if np.any(steps > 0) else 1.0
    median_local = float(np.median(local[local > 0])) if np.any(local > 0) else 1.0
    return median, median_local


def _nearest_squared(candidates: np.ndarray, real: np.ndarray) -> np.ndarray:
    """Smallest mean squared difference of each candidate row to the real rows: (n, d), (T, d)
    -> (n,), by one matrix product (centred first: |a|^2 + |b|^2 - 2ab cancels badly on near rows)."""
    real64, cand64 = real.astype(np.float64), candidates.astype(np.float64)
    mean = real64.mean(axis=0)
    r, c = real64 - mean, cand64 - mean
    squared = (c * c).sum(1)[:, None] + (r * r).sum(1)[None, :] - 2 * c @ r.T  # (n, T)
    return np.maximum(squared.min(axis=1), 0) / real.shape[1]


def nearest_real(candidates_small: np.ndarray, real_small: np.ndarray) -> np.ndarray:
    """RMS distance of each candidate to its nearest real frame: (n, h, w, 3), (T, h, w, 3) -> (n,)."""
    return np.sqrt(_nearest_squared(candidates_small.reshape(len(candidates_small), -1),
                                    real_small.reshape(len(real_small), -1)))


def nearest_real_local(candidates_small: np.ndarray, real_small: np.ndarray) -> np.ndarray:
    """Worst cell's RMS distance to the nearest real cell at the same place: -> (n,)."""
    cand, real = _cells(candidates_small), _cells(real_small)  # (n, 16, p), (T, 16, p)
    per_cell = np.stack([_nearest_squared(cand[:, c], real[:, c]) for c in range(cand.shape[1])], 1)
    return np.sqrt(per_cell).max(axis=1)


def realism(sequences, real_frames, *, real_small: np.ndarray | None = None) -> dict:
    """The realism figures of one method's transitions.

    sequences: a list of (L, H, W, 3) uint8 arrays, each a transition's in-between frames
    followed by the frame shown after them (so the last in-between's step is measured too);
    real_frames (T, H', W', 3) uint8: the clip (any size; both are compared at 64 px wide).
    Returns {"frames", "median_nearest_real", "p95_nearest_real", "p95_nearest_real_local",
    "p95_step"}: distances in median natural steps (the local one in median worst-cell steps).
    """
    real_small = features(real_frames) if real_small is None else real_small
    median, median_local = natural_medians(real_small)
    made, steps = [], []
    for sequence in sequences:
        small = features(sequence, real_small.shape[2])
        if small.shape[1:] != real_small.shape[1:]:  # model-size rounding: match the clip's grid
            small = np.stack([cv2.resize(f, real_small.shape[2:0:-1], interpolation=cv2.INTER_AREA) for f in small])
        made.append(small[:-1])
        steps.append(np.sqrt(np.mean((small[1:] - small[:-1]) ** 2, axis=(1, 2, 3))))
    if not made:
        return {"frames": 0}
    made = np.concatenate(made)
    near = nearest_real(made, real_small) / median
    local = nearest_real_local(made, real_small) / median_local
    step = np.concatenate(steps) / median
    return {"frames": int(len(made)),
            "median_nearest_real": round(float(np.median(near)), 4),
            "p95_nearest_real": round(float(np.percentile(near, 95)), 4),
            "p95_nearest_real_local": round(float(np.percentile(local, 95)), 4),
            "p95_step": round(float(np.percentile(step, 95)), 4)}


TWO_SAMPLE_WIDTH = 32  # px: the classifier's input width (a ghost or a blur survives it)
TWO_SAMPLE_STEPS = 300  # Adam steps per fold (full batches of a few hundred tiny frames: seconds)


def two_sample_accuracy(real: np.ndarray, made: np.ndarray, *, seed: int = 0) -> float | None:
    """Held-out accuracy of a small CNN telling real frames from made ones (a two-sample test).

    real (R, H, W, 3), made (M, H, W, 3) uint8 (same size: render both the same way). Equal
    numbers of each are drawn (seeded), split in two halves; the classifier trains on one half
    and is scored on the other, then the halves swap; the mean of the two is returned
    (0.5: indistinguishable, 1.0: always told apart). None with fewer than 8 frames of either.
    """
    import torch
    from torch import nn

    n = min(len(real), len(made))
    if n < 8:
        return None
    rng = np.random.default_rng(seed)
    pick_real = np.sort(rng.choice(len(real), n, replace=False))
    pick_made = np.sort(rng.choice(len(made), n, replace=False))
    small = features(np.concatenate([np.asarray(real)[pick_real], np.asarray(made)[pick_made]]),
                     TWO_SAMPLE_WIDTH)
    x = torch.from_numpy(small.transpose(0, 3, 1, 2) / 255.0 - 0.5).float()  # (2n, 3, h, w)
    y = torch.cat([torch.ones(n), torch.zeros(n)])
    order = rng.permutation(n)
    halves = [np.concatenate([order[: n // 2], n + order[: n // 2]]),
              np.concatenate([order[n // 2:], n + order[n // 2:]])]
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    accuracies = []
    try:
        for train, test in (halves, halves[::-1]):
            torch.manual_seed(seed)
            net = nn.Sequential(
                nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(128, 1))
            optimiser = torch.optim.Adam(net.parameters(), lr=2e-3, weight_decay=1e-4)
            xt, yt = x[train], y[train]
            for _ in range(TWO_SAMPLE_STEPS):
                loss = nn.functional.binary_cross_entropy_with_logits(net(xt)[:, 0], yt)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
            with torch.no_grad():
                guess = net(x[test])[:, 0] > 0
            accuracies.append(float((guess.float() == y[test]).float().mean()))
    finally:
        torch.set_num_threads(previous_threads)
    return round(float(np.mean(accuracies)), 4)


# ----------------------------------------------------------------------------- per-jump choice

CHOICES = ("cut", "crossfade", "morph", "generated")  # what `--transitions auto` picks among, per jump


def jump_measures(candidates: dict, entries: np.ndarray, real_small: np.ndarray) -> dict:
    """The stored measures of one or more jumps' transitions, per method.

    candidates: {method: (B, K, H, W, 3) uint8}: each jump's K frames as that method shows them
    (a cut: the real frames j .. j+K-1), then the frame after them (j + K) as the last of K + 1;
    entries (B, H, W, 3) uint8: frame i, shown before the transition; real_small: the clip's
    `features`. Returns {method: (B, 2) float32}: column 0 the worst local nearest-real distance
    of the K frames (worst 4x4 cell, in median worst-cell natural steps), column 1 the largest
    step of i, x1 .. xK, j + K (in median natural steps): a cut is real but steps once by the
    whole jump; a crossfade steps softly but ghosts.
    """
    median, median_local = natural_medians(real_small)
    width = real_small.shape[2]
    entry_small = _match(features(entries, width), real_small)  # (B, h, w, 3)
    out = {}
    for method, frames in candidates.items():
        b, k1 = frames.shape[:2]
        small = _match(features(frames.reshape((b * k1,) + frames.shape[2:]), width), real_small)
        small = small.reshape((b, k1) + small.shape[1:])  # (B, K+1, h, w, 3)
        inner = small[:, :-1].reshape((-1,) + small.shape[2:])
        near = nearest_real_local(inner, real_small).reshape(b, k1 - 1).max(axis=1) / median_local
        shown = np.concatenate([entry_small[:, None], small], axis=1)  # (B, K+2, ...)
        steps = np.sqrt(np.mean((shown[:, 1:] - shown[:, :-1]) ** 2, axis=(2, 3, 4))).max(axis=1) / median
        out[method] = np.stack([near, steps], axis=1).astype(np.float32)
    return out


def _match(small: np.ndarray, real_small: np.ndarray) -> np.ndarray:
    """Frames' features at the clip's feature size (the model size can round the height)."""
    if small.shape[1:] == real_small.shape[1:]:
        return small
    return np.stack([cv2.resize(f, real_small.shape[2:0:-1], interpolation=cv2.INTER_AREA) for f in small])


def choose(measures: np.ndarray) -> np.ndarray:
    """Per jump, the method with the smallest sum of its two measures: measures (B, M, 2) ->
    (B,) int8 index into the M methods. A method whose measures are both no better than another's
    and one worse has the larger sum, so it is never chosen (ties go to the earlier method)."""
    return np.argmin(np.asarray(measures, np.float64).sum(axis=2), axis=1).astype(np.int8)

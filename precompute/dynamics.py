"""Preserving dynamics: the diagonal filter, and transition costs `C[i, j] = D1[i+1, j]`.

`D1[i, j] = sum_{k=-m}^{m-1} w_k D[i+k, j+k]` with binomial weights ([1,1]/2 for m=1,
[1,3,3,1]/8 for m=2). The even length is on purpose: jumping i -> j is judged as much by
(i, j-1) as by (i+1, j). The filter runs along diagonals only.

Edges (documented choice): taps that fall outside the clip are dropped and the remaining weights
renormalised, with one exception: no jump lands on the first m frames, whose comparison would lack
the backward taps that judge the motion before the jump (with them, a pendulum's jump into frame 0
could reverse its swing). The one row past the end, needed for
jumps out of the last frame (`C[N-1, j] = D1[N, j]`), keeps only its backward taps, which compare
the clip's last frames with the frames before j; with m = 0 that is `D[N-1, j-1]`.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["binomial_weights", "dynamics_filter", "transition_costs", "restless_frames"]


def binomial_weights(m: int) -> np.ndarray:
    """Weights w_k for k = -m .. m-1 (2m taps); m = 0 gives the unfiltered [1] at k = 0."""
    if m < 0:
        raise ValueError(f"m must be >= 0, got {m}")
    if m == 0:
        return np.ones(1, np.float64)
    row = np.array([1.0])
    for _ in range(2 * m - 1):
        row = np.convolve(row, [1.0, 1.0])
    return row / row.sum()


@numba.njit(parallel=True, cache=True)
def _diagonal_filter(distances, weights, first_tap, row_offset, out):
    """out[i, j] = renormalised sum_k w_k D[i+row_offset+k, j+k] over valid taps (inf if none)."""
    n = distances.shape[0]
    rows = out.shape[0]
    taps = weights.shape[0]
    for i in numba.prange(rows):
        a = i + row_offset
        for j in range(n):
            acc = 0.0
            wsum = 0.0
            for t in range(taps):
                k = first_tap + t
                r = a + k
                c = j + k
                if 0 <= r < n and 0 <= c < n:
                    acc += weights[t] * distances[r, c]
                    wsum += weights[t]
            if wsum > 0.0:
                out[i, j] = acc / wsum
            elif a >= n and j >= 1:  # past the end with m = 0: the last frame against j - 1
                out[i, j] = distances[n - 1, j - 1]
            else:
                out[i, j] = np.inf


def _check_square(distances: np.ndarray) -> np.ndarray:
    d = np.asarray(distances)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.dtype != np.float32:
        raise ValueError(f"distances must be (N, N) float32, got {d.shape} {d.dtype}")
    return d


def dynamics_filter(distances: np.ndarray, *, m: int = 2) -> np.ndarray:
    """(N, N) float32 distances -> (N, N) float32 diagonally filtered distances D1."""
    d = _check_square(distances)
    out = np.empty_like(d)
    _diagonal_filter(d, binomial_weights(m), -m if m else 0, 0, out)
    return out


def transition_costs(distances: np.ndarray, *, m: int = 2, min_jump_frames: int = 1) -> np.ndarray:
    """(N, N) float32 distances -> (N, N) float32 costs C[i, j] of showing j after i.

    C[i, j] = D1[i+1, j] (the successor of i should look like j). C[i, i+1] = 0 is the natural
    step. Forbidden (inf): staying on a frame (j = i), and jumps that land fewer than
    `min_jump_frames` frames from the natural successor (they only stutter or skip).
    """
    d = _check_square(distances)
    n = d.shape[0]
    costs = np.empty_like(d)
    _diagonal_filter(d, binomial_weights(m), -m if m else 0, 1, costs)
    rows = np.arange(n)
    costs[rows, rows] = np.inf
    for offset in range(1, max(1, int(min_jump_frames))):  # |j - (i+1)| = offset, both sides
        for j_of_i in (rows + 1 + offset, rows + 1 - offset):
            ok = (j_of_i >= 0) & (j_of_i < n)
            costs[rows[ok], j_of_i[ok]] = np.inf
    costs[:, :m] = np.inf  # the first m frames lack the filter's backward taps: no jumps land there
    natural = rows[:-1]
    costs[natural, natural + 1] = 0.0  # exact, whatever the rounding of the filter
    return costs


def restless_frames(natural: np.ndarray, limit: float, window: int = 3) -> np.ndarray:
    """(N,) bool from the (N-1,) natural steps: frames within `window` of a step above `limit`.

    The calm-motion rule (AnalysisConfig.calm_jump_motion), shared by the dense and sparse paths:
    no jump leaves or lands on a restless frame, so crossfades fall in calm moments."""
    n = natural.shape[0] + 1
    padded = np.concatenate([[0.0], natural, [0.0]])  # step into frame f is padded[f]
    padded = np.concatenate([np.zeros(window - 1), padded, np.zeros(window)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * window)[:n]  # padded[f-w+1 : f+w+1]
    return windows.max(axis=1) > limit

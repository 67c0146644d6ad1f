"""All-pairs frame distances as one matrix product, accurate in float32.

`D[i, j] = ||x_i - x_j||_2 = sqrt(|x_i|^2 + |x_j|^2 - 2 x_i.x_j)`. In float32 this expansion cancels
badly on exactly the small distances that pick transitions (errors of ~2% on consecutive frames,
spurious exact zeros). Three things keep it accurate:
1. the mean frame is subtracted first, which shrinks |x|^2 towards the spread of the clip;
2. negatives from rounding are clamped to 0 before the square root;
3. the pairs where cancellation can still matter (small distance relative to the norms) are
   recomputed directly as ||x_i - x_j||^2 with float64 accumulation: always the neighbours i +- 1,
   and the `refine_per_row` smallest flagged pairs of each row. Those are the pairs that become
   natural steps and jumps; for all others the product's error is far below the costs that matter.
"""
from __future__ import annotations

import os

import numba
import numpy as np

__all__ = ["frame_distances", "rms_scale", "cuda_available"]

# Relative size of a squared distance below which float32 cancellation may show: the product's
# error is ~sqrt(d) * 6e-8 of |x|^2; at 5% of |x|^2 that is < 1e-3 relative in D for d <= 1e5.
_CANCELLATION_RATIO = 0.05


def rms_scale(feature_length: int) -> float:
    """Factor from Euclidean feature distance to RMS units: 1 / sqrt(d)."""
    return 1.0 / float(np.sqrt(feature_length))


def cuda_available() -> bool:
    """True when torch sees a CUDA device. Does not import torch on machines without a driver."""
    if not os.path.exists("/proc/driver/nvidia/version") and not os.environ.get("CUDA_VISIBLE_DEVICES"):
        return False
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@numba.njit(parallel=True, cache=True)
def _gram_to_distances(gram, sq):
    """In place: gram (N, N) float32 of centred products -> Euclidean distances."""
    n = gram.shape[0]
    for i in numba.prange(n):
        row = gram[i]
        si = sq[i]
        for j in range(n):
            v = si + sq[j] - 2.0 * row[j]
            row[j] = np.sqrt(v) if v > 0.0 else 0.0
        row[i] = 0.0


_BLOCK = 256  # float32 partial sums over this many elements (vectorised), float64 across blocks


@numba.njit(cache=True, fastmath=True)
def _block_squared(a, b, start, stop):
    acc = np.float32(0.0)
    for k in range(start, stop):
        t = a[k] - b[k]
        acc += t * t
    return acc


@numba.njit(cache=True)
def _exact_squared(a, b):
    """||a - b||^2 without the expansion's cancellation: float32 differences (exact to a relative
    6e-8 of the difference itself), summed in float32 blocks of 256 and float64 across blocks."""
    acc = 0.0
    d = a.shape[0]
    for start in range(0, d, _BLOCK):
        acc += np.float64(_block_squared(a, b, start, min(d, start + _BLOCK)))
    return acc


@numba.njit(parallel=True, cache=True)
def _column_mean(x):
    """(N, d) float32 -> (d,) float32 mean, accumulated in float64 over row chunks in parallel."""
    n, d = x.shape
    chunks = 8
    partial = np.zeros((chunks, d), np.float64)
    for c in numba.prange(chunks):
        for i in range(c * n // chunks, (c + 1) * n // chunks):
            for k in range(d):
                partial[c, k] += x[i, k]
    mean = np.empty(d, np.float32)
    for k in range(d):
        acc = 0.0
        for c in range(chunks):
            acc += partial[c, k]
        mean[k] = acc / n
    return mean


@numba.njit(parallel=True, cache=True)
def _centre(x, bits, mean, weights, centred, sq, hashes):
    """One pass over x: centred = x - mean, sq = row norms of centred (float32 blocks summed in
    float64), and a 32-bit hash of each row's exact bits (equal rows hash equal; a collision only costs a comparison)."""
    n, d = x.shape
    for i in numba.prange(n):
        acc = 0.0
        h = np.uint32(0)
        for start in range(0, d, _BLOCK):
            stop = min(d, start + _BLOCK)
            part = np.float32(0.0)
            for k in range(start, stop):
                v = x[i, k] - mean[k]
                centred[i, k] = v
                part += v * v
                h += bits[i, k] * weights[k]  # uint32 arithmetic wraps: vectorises
            acc += np.float64(part)
        sq[i] = acc
        hashes[i] = h


@numba.njit(parallel=True, cache=True)
def _refine_small(distances, centred, sq, ratio, per_row):
    """Recompute directly the pairs that cancellation may have spoiled (see module doc).

    Reads `distances` only; returns (N, per_row + 2) partner indices (-1 = none) and values,
    which the caller writes to both (i, j) and (j, i).
    """
    n = distances.shape[0]
    partners = np.full((n, per_row + 2), -1, np.int64)
    values = np.zeros((n, per_row + 2), np.float32)
    for i in numba.prange(n):
        row = distances[i]
        flagged = np.empty(n, np.int64)
        count = 0
        for j in range(n):
            if j != i and abs(j - i) != 1 and row[j] * row[j] < ratio * 0.5 * (sq[i] + sq[j]):
                flagged[count] = j
                count += 1
        if count > per_row:
            flagged_values = np.empty(count, np.float32)
            for c in range(count):
                flagged_values[c] = row[flagged[c]]
            chosen = flagged[np.argsort(flagged_values)[:per_row]]
        else:
            chosen = flagged[:count]
        slot = 0
        for c in range(chosen.shape[0]):
            partners[i, slot] = chosen[c]
            slot += 1
        for j in (i - 1, i + 1):
            if 0 <= j < n:
                partners[i, slot] = j
                slot += 1
        for s in range(slot):
            values[i, s] = np.float32(np.sqrt(_exact_squared(centred[i], centred[partners[i, s]])))
    return partners, values


@numba.njit(cache=True)
def _write_refined(distances, partners, values):
    for i in range(partners.shape[0]):
        for s in range(partners.shape[1]):
            j = partners[i, s]
            if j >= 0:
                distances[i, j] = values[i, s]
                distances[j, i] = values[i, s]


def _zero_exact_duplicates(x: np.ndarray, hashes: np.ndarray, distances: np.ndarray) -> None:
    """Frames with identical features are exactly 0 apart, whatever the product's rounding
    (rendered and GIF clips repeat frames; a tie between them must stay a tie). Rows are grouped
    by their hash, and equality is checked within a group."""
    _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    for group in np.flatnonzero(counts > 1):
        members = np.flatnonzero(inverse == group)
        for a in range(len(members)):
            same = [b for b in members[a + 1:] if np.array_equal(x[members[a]], x[b])]
            if same:
                distances[members[a], same] = 0.0
                distances[same, members[a]] = 0.0


def _gram_torch(centred: np.ndarray, block: int) -> np.ndarray:
    import torch

    x = torch.from_numpy(centred).to("cuda")
    n = x.shape[0]
    gram = np.empty((n, n), np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        gram[start:stop] = (x[start:stop] @ x.T).cpu().numpy()  # (b, N)
    return gram


def frame_distances(features: np.ndarray, *, device: str = "cpu", block: int = 4096,
                    refine_per_row: int = 2) -> np.ndarray:
    """(N, d) float32 features -> (N, N) float32 Euclidean distances, symmetric, zero diagonal.

    device: "cpu" (numpy/BLAS: one symmetric product, `Xc @ Xc.T`, which BLAS runs as a rank-k
    update at half a general product's cost), "cuda" (torch, in row blocks of `block`), or
    "auto" (cuda when present). refine_per_row: how many of each row's smallest suspect pairs
    are recomputed exactly besides the neighbours (see the module doc).
    """
    x = np.asarray(features)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"features must be (N, d), got shape {x.shape}")
    if x.dtype != np.float32:
        raise ValueError(f"features must be float32, got {x.dtype}")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    use_cuda = device == "cuda" or (device == "auto" and cuda_available())
    if device == "cuda" and not cuda_available():
        raise ValueError("device='cuda' asked for, but torch sees no CUDA device; use 'cpu'")
    x = np.ascontiguousarray(x)
    mean = _column_mean(x)
    centred = np.empty_like(x)  # (N, d) float32, a new array: the input is never modified
    sq = np.empty(x.shape[0], np.float64)
    hashes = np.empty(x.shape[0], np.uint32)
    weights = np.random.default_rng(12345).integers(1, 2**31, x.shape[1], dtype=np.uint32) | np.uint32(1)
    _centre(x, x.view(np.uint32), mean, weights, centred, sq, hashes)
    distances = _gram_torch(centred, block) if use_cuda else centred @ centred.T  # (N, N)
    _gram_to_distances(distances, sq)
    partners, values = _refine_small(distances, centred, sq, _CANCELLATION_RATIO, int(refine_per_row))
    _write_refined(distances, partners, values)
    _zero_exact_duplicates(x, hashes, distances)
    return distances

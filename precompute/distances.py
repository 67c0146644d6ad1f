"""All-pairs frame distances as one matrix product, accurate in float32.

`D[i, j] = ||x_i - x_j||_2 = sqrt(|x_i|^2 + |x_j|^2 - 2 x_i.x_j)`. In float32 this expansion cancels
badly on exactly the small distances that pick transitions (errors of ~2% on consecutive frames,
spurious exact zeros). Three things keep it accurate:
1. a mean frame (of 64 evenly spaced frames: any vector near the clip's mean does) is subtracted
   first, which shrinks |x|^2 towards the spread of the clip;
2. negatives from rounding are clamped to 0 before the square root;
3. the pairs where cancellation can still matter (small distance relative to the norms) are
   recomputed directly from the features as ||x_i - x_j||^2 with float64 accumulation: always the
   neighbours i +- 1 (in the centring pass, while both rows are in cache), and the
   `refine_per_row` smallest flagged pairs of each row (each pair once). Those are the pairs that
   become natural steps and jumps; for all others the product's error is far below the costs that
   matter.

Every pass besides the product is one read of the features (centring, hashing and the natural
steps together) or one pass over the (N, N) result (distances and the search for suspect pairs
together), so the extra work is a small fraction of the product's.
"""
from __future__ import annotations

import functools
import os
import threading
import types

import numba
import numpy as np

__all__ = ["frame_distances", "rms_scale", "cuda_available"]

# Relative size of a squared distance below which float32 cancellation may show: the product's
# error is ~sqrt(d) * 6e-8 of |x|^2; at 5% of |x|^2 that is < 1e-3 relative in D for d <= 1e5.
_CANCELLATION_RATIO = 0.05


# The centred copy's memory is kept between calls up to this size: faulting in fresh pages (the
# kernel zeroes each) cost as much as the centring pass itself (22 ms for 500 x 57600 floats).
_SCRATCH_MAX_BYTES = 512 * 2**20
_scratch_lock = threading.Lock()
_scratch: np.ndarray | None = None  # flat float32, taken by one caller at a time


@functools.lru_cache(maxsize=8)
def _hash_weights(d: int) -> np.ndarray:
    """(d,) odd uint32 multipliers of the row hash (fixed: the same rows always hash the same)."""
    weights = np.random.default_rng(12345).integers(1, 2**31, d, dtype=np.uint32) | np.uint32(1)
    weights.flags.writeable = False
    return weights


def _take_scratch(shape: tuple[int, int]) -> np.ndarray:
    """A C-contiguous float32 array of `shape`, reusing the kept buffer when it is large enough."""
    global _scratch
    size = shape[0] * shape[1]
    if size * 4 > _SCRATCH_MAX_BYTES:
        return np.empty(shape, np.float32)
    with _scratch_lock:
        buffer, _scratch = _scratch, None
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, np.float32)
    return buffer[:size].reshape(shape)


def _give_back_scratch(array: np.ndarray) -> None:
    global _scratch
    buffer = array.base if array.base is not None else array
    if buffer.nbytes > _SCRATCH_MAX_BYTES:
        return
    with _scratch_lock:
        if _scratch is None or _scratch.size < buffer.size:
            _scratch = buffer.reshape(-1)


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


_BLOCK = 256  # float32 partial sums over this many elements (vectorised), float64 across blocks


_FAST = {"reassoc", "contract", "nsz", "arcp"}  # reorder sums so they vectorise; NaN/inf still propagate

_MEAN_ROWS = 64  # rows averaged for the centring vector: any vector near the clip's mean shrinks the norms as well


@numba.njit(cache=True, fastmath=_FAST)  # serial: 64 rows are too little work to wake threads for
def _sampled_mean(x, rows):
    """(N, d) float32 -> (d,) float32 mean of about `rows` evenly spaced rows (float64 sums).
    Centring only has to bring the norms down to the clip's spread; the exact mean is not needed."""
    n, d = x.shape
    stride = max(1, n // rows)
    picked = (n + stride - 1) // stride
    mean = np.empty(d, np.float32)
    for c in numba.prange((d + 1023) // 1024):
        lo = c * 1024
        hi = min(d, lo + 1024)
        acc = np.zeros(hi - lo, np.float64)
        for i in range(0, n, stride):
            row = x[i]
            for k in range(lo, hi):
                acc[k - lo] += row[k]
        for k in range(lo, hi):
            mean[k] = acc[k - lo] / picked
    return mean


@numba.njit(cache=True, fastmath=_FAST)
def _exact_squared(a, b):
    """||a - b||^2 without the expansion's cancellation: float32 differences (exact to a relative
    6e-8 of the difference itself), summed in float32 blocks of 256 and float64 across blocks.
    (Fixed-length blocks on slices are what LLVM vectorises; a `min(d, ...)` bound is not.)"""
    d = a.shape[0]
    full = d - d % _BLOCK
    acc = 0.0
    for start in range(0, full, _BLOCK):
        a_block = a[start:start + _BLOCK]
        b_block = b[start:start + _BLOCK]
        part = np.float32(0.0)
        for k in range(_BLOCK):
            t = a_block[k] - b_block[k]
            part += t * t
        acc += np.float64(part)
    part = np.float32(0.0)
    for k in range(full, d):
        t = a[k] - b[k]
        part += t * t
    return acc + np.float64(part)


@numba.njit(cache=True, fastmath=_FAST)
def _centre_span(xi, xn, bi, mean, weights, ci, start, stop):
    """_centre's work on elements [start, stop) of one row: (norm part, step part, hash part)."""
    part = np.float32(0.0)
    part_step = np.float32(0.0)
    h = np.uint32(0)
    for k in range(stop - start):
        v = xi[k] - mean[k]
        ci[k] = v
        part += v * v
        t = xn[k] - xi[k]
        part_step += t * t
        h += bi[k] * weights[k]  # uint32 arithmetic wraps
    return part, part_step, h


def _centre(x, bits, mean, weights, centred, sq, step_sq, hashes):
    """One pass over x: centred = x - mean; sq = squared row norms of centred; step_sq[i] =
    ||x[i+1] - x[i]||^2 exactly (the natural steps, from the features themselves, with row i+1
    read again from cache by the next row); and a 32-bit hash of each row's bits (equal rows hash
    equal; a collision only costs a comparison). Float32 sums over blocks of 256, float64 across;
    the fused loop costs about what a bare `x - mean` does."""
    n, d = x.shape
    full = d - d % _BLOCK
    for i in numba.prange(n):
        xi = x[i]
        xn = x[min(i + 1, n - 1)]  # the last row's step (with itself) is not stored
        bi = bits[i]
        ci = centred[i]
        acc = 0.0
        step = 0.0
        h = np.uint32(0)
        for start in range(0, full + _BLOCK, _BLOCK):
            stop = start + _BLOCK if start < full else d
            if stop <= start:
                break
            part, part_step, part_h = _centre_span(xi[start:stop], xn[start:stop], bi[start:stop],
                                                   mean[start:stop], weights[start:stop],
                                                   ci[start:stop], start, stop)
            acc += np.float64(part)
            step += np.float64(part_step)
            h += part_h
        sq[i] = acc
        hashes[i] = h
        if i + 1 < n:
            step_sq[i] = step


def _gram_to_distances(gram, sq, step_sq, ratio, per_row):
    """In place: gram (N, N) float32 of centred products -> Euclidean distances (negatives from
    rounding clamped to 0), with the exact natural steps on the first off-diagonals.

    Returns (N, per_row) int64: each row's `per_row` smallest pairs (j not i or i +- 1) whose
    squared distance is below `ratio` of the pair's mean squared norm, where the product's
    rounding may still show (-1 = none). Found while the row is in cache.
    """
    n = gram.shape[0]
    sq32 = sq.astype(np.float32)
    partners = np.full((n, per_row), -1, np.int64)
    for i in numba.prange(n):
        row = gram[i]
        si = sq32[i]
        for j in range(n):
            row[j] = np.sqrt(max(si + sq32[j] - 2.0 * row[j], np.float32(0.0)))
        row[i] = 0.0
        if per_row == 0:
            continue
        best = np.full(per_row, np.inf, np.float32)
        for j in range(n):
            v = row[j]
            if v < best[per_row - 1] and v * v < ratio * 0.5 * (si + sq32[j]) and abs(j - i) > 1:
                s = per_row - 1
                while s > 0 and best[s - 1] > v:
                    best[s] = best[s - 1]
                    partners[i, s] = partners[i, s - 1]
                    s -= 1
                best[s] = v
                partners[i, s] = j
    for i in range(n - 1):
        step = np.float32(np.sqrt(step_sq[i]))
        gram[i, i + 1] = step
        gram[i + 1, i] = step
    return partners


def _refine_pairs(distances, x, first, second):
    """Recompute the listed pairs directly from the features, and write both (i, j) and (j, i)."""
    values = np.empty(first.shape[0], np.float32)
    for p in numba.prange(first.shape[0]):
        values[p] = np.float32(np.sqrt(_exact_squared(x[first[p]], x[second[p]])))
    for p in range(first.shape[0]):
        distances[first[p], second[p]] = values[p]
        distances[second[p], first[p]] = values[p]


# The passes around the product come in a serial and a parallel build. On 2 cores a numba
# parallel region and BLAS's threads fight: BLAS's workers spin for work for a while after a
# product, numba's after a region. Measured at N=500 (d=9216, quiet machine): refinement 7.5 ms on
# 2 threads against 1.8 ms on 1, and the product itself 3-6 ms slower right after a parallel
# centring pass; all-serial passes made the whole call 1.22x X@X.T against 1.27x. Below this many
# pairs the serial builds are used; above it the passes are long enough to pay for threads.
_PARALLEL_MIN_PAIRS = 3000 * 3000


def _named(function, suffix: str):
    """A copy of `function` under another name: numba names its cache files by the function's
    name, so the serial and the parallel build of one function must not share it."""
    copy = types.FunctionType(function.__code__, function.__globals__, function.__name__ + suffix,
                              function.__defaults__, function.__closure__)
    copy.__qualname__ = function.__qualname__ + suffix
    copy.__doc__ = function.__doc__
    return copy


_gram_to_distances_serial = numba.njit(cache=True, fastmath=_FAST)(_named(_gram_to_distances, "_serial"))
_gram_to_distances_parallel = numba.njit(parallel=True, cache=True, fastmath=_FAST)(
    _named(_gram_to_distances, "_parallel"))
_refine_pairs_serial = numba.njit(cache=True)(_named(_refine_pairs, "_serial"))
_centre_serial = numba.njit(cache=True, fastmath=_FAST)(_named(_centre, "_serial"))
_centre_parallel = numba.njit(parallel=True, cache=True, fastmath=_FAST)(_named(_centre, "_parallel"))
_refine_pairs_parallel = numba.njit(parallel=True, cache=True)(_named(_refine_pairs, "_parallel"))


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
    n, d = x.shape
    mean = _sampled_mean(x, _MEAN_ROWS)
    centred = _take_scratch(x.shape)  # (N, d) float32, scratch: the input is never modified
    sq = np.empty(n, np.float64)
    step_sq = np.zeros(max(n - 1, 0), np.float64)
    hashes = np.empty(n, np.uint32)
    weights = _hash_weights(d)
    parallel = n * n >= _PARALLEL_MIN_PAIRS
    (_centre_parallel if parallel else _centre_serial)(x, x.view(np.uint32), mean, weights, centred, sq,
                                                       step_sq, hashes)
    distances = _gram_torch(centred, block) if use_cuda else centred @ centred.T  # (N, N)
    _give_back_scratch(centred)
    to_distances = _gram_to_distances_parallel if parallel else _gram_to_distances_serial
    partners = to_distances(distances, sq, step_sq, _CANCELLATION_RATIO, int(refine_per_row))
    first = np.repeat(np.arange(n), partners.shape[1])
    second = partners.ravel()
    keep = second >= 0
    pairs = np.unique(np.minimum(first, second)[keep] * n + np.maximum(first, second)[keep])  # each pair once
    (_refine_pairs_parallel if parallel else _refine_pairs_serial)(distances, x, pairs // n, pairs % n)
    _zero_exact_duplicates(x, hashes, distances)
    return distances

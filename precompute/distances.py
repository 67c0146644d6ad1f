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

On several cores the product is split by feature columns: each thread centres its columns and
takes their whole rank-k update on one BLAS thread, and the partial products add up. The threads
never wait for each other, which beats BLAS's own threading of one product on small matrices, and
the centring runs on every core (`_split_product`).
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import types
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

__all__ = ["frame_distances", "rms_scale", "cuda_available"]

# Relative size of a squared distance (to the pair's mean squared centred norm) below which a pair
# is recomputed exactly. Measured on the centred product without recomputation (smooth random
# walks at d = 9216 and 57600, the procedural candle at d = 16320), the relative error in D is
# about 3e-7 / ratio: at most 6.5e-5 for ratios in [0.003, 0.01), 2.6e-5 in [0.01, 0.03), 6e-4
# below 0.001 (near-duplicates). At 0.01 every pair left alone is within 4e-5, 25x inside the
# 1e-3 the analysis needs; a larger ratio only recomputes pairs that are already accurate (at
# 0.05, 540 pairs at N=500 on a smooth clip, most of the 1.4 ms of the recomputation).
_CANCELLATION_RATIO = 0.01


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


@numba.njit(cache=True, nogil=True, fastmath=_FAST)  # serial: 64 rows are too little work to wake threads for
def _sampled_mean(x, rows, lo, hi):
    """(N, d) float32 -> (hi - lo,) float32 mean over columns [lo, hi) of about `rows` evenly
    spaced rows (float64 sums). Centring only has to bring the norms down to the clip's spread;
    the exact mean is not needed."""
    n = x.shape[0]
    stride = max(1, n // rows)
    picked = (n + stride - 1) // stride
    acc = np.zeros(hi - lo, np.float64)  # <= 0.5 MB for d = 57600: stays in cache across rows
    for i in range(0, n, stride):
        row = x[i, lo:hi]
        for k in range(hi - lo):
            acc[k] += row[k]
    mean = np.empty(hi - lo, np.float32)
    for k in range(hi - lo):
        mean[k] = acc[k] / picked
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


def _centre(x, bits, mean, weights, lo, hi, centred, sq, step_sq, hashes):
    """One pass over columns [lo, hi) of x: centred = x[:, lo:hi] - mean; sq = squared row norms
    of centred; step_sq[i] = ||x[i+1] - x[i]||^2 over those columns, exactly (the natural steps,
    from the features themselves, with row i+1 read again from cache by the next row); and a
    32-bit hash of each row's bits there (equal rows hash equal; a collision only costs a
    comparison). The parts over disjoint column ranges add up: norms and steps by sum, hashes by
    wrapping sum. mean, weights: (hi - lo,). Float32 sums over blocks of 256, float64 across; the
    fused loop costs about what a bare `x - mean` does."""
    n = x.shape[0]
    width = hi - lo
    full = width - width % _BLOCK
    for i in numba.prange(n):
        xi = x[i, lo:hi]
        xn = x[min(i + 1, n - 1), lo:hi]  # the last row's step (with itself) is not stored
        bi = bits[i, lo:hi]
        ci = centred[i]
        acc = 0.0
        step = 0.0
        h = np.uint32(0)
        for start in range(0, full + _BLOCK, _BLOCK):
            stop = start + _BLOCK if start < full else width
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


def _gram_to_distances(gram, extra, sq, ratio, lo, hi, partners):
    """In place, on rows [lo, hi): gram (N, N) float32 of centred products, plus the partial
    products in extra (P, N, N) (P may be 0) -> Euclidean distances (negatives from rounding
    clamped to 0), zero diagonal.

    Fills partners (N, per_row) int64 on those rows: each row's `per_row` smallest pairs (j not i
    or i +- 1) whose squared distance is below `ratio` of the pair's mean squared norm, where the
    product's rounding may still show (-1 = none). Found while the row is in cache.
    """
    n = gram.shape[0]
    per_row = partners.shape[1]
    parts = extra.shape[0]
    sq32 = sq.astype(np.float32)
    for i in numba.prange(lo, hi):
        row = gram[i]
        for p in range(parts):
            other = extra[p, i]
            for j in range(n):
                row[j] += other[j]
        si = sq32[i]
        for j in range(n):
            row[j] = np.sqrt(max(si + sq32[j] - 2.0 * row[j], np.float32(0.0)))
        row[i] = 0.0
        partners[i] = -1
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


@numba.njit(cache=True)
def _write_steps(distances, step_sq):
    """The exact natural steps onto the first off-diagonals (the product's are rounded)."""
    for i in range(distances.shape[0] - 1):
        step = np.float32(np.sqrt(step_sq[i]))
        distances[i, i + 1] = step
        distances[i + 1, i] = step


def _refine_pairs(distances, x, first, second):
    """Recompute the listed pairs (each once) directly from the features, and write both (i, j)
    and (j, i)."""
    for p in numba.prange(first.shape[0]):
        value = np.float32(np.sqrt(_exact_squared(x[first[p]], x[second[p]])))
        distances[first[p], second[p]] = value
        distances[second[p], first[p]] = value


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


# Serial builds release the GIL: the split path runs them on several Python threads at once.
_gram_to_distances_serial = numba.njit(cache=True, nogil=True, fastmath=_FAST)(
    _named(_gram_to_distances, "_serial"))
_gram_to_distances_parallel = numba.njit(parallel=True, cache=True, fastmath=_FAST)(
    _named(_gram_to_distances, "_parallel"))
_refine_pairs_serial = numba.njit(cache=True, nogil=True)(_named(_refine_pairs, "_serial"))
_refine_pairs_parallel = numba.njit(parallel=True, cache=True)(_named(_refine_pairs, "_parallel"))
_centre_serial = numba.njit(cache=True, nogil=True, fastmath=_FAST)(_named(_centre, "_serial"))
_centre_parallel = numba.njit(parallel=True, cache=True, fastmath=_FAST)(_named(_centre, "_parallel"))


@numba.njit(cache=True)
def _zero_exact_duplicates(x, hashes, distances):
    """Frames with identical features are exactly 0 apart, whatever the product's rounding
    (rendered and GIF clips repeat frames; a tie between them must stay a tie). Rows are sorted
    by their hash, and equality is checked within each run of equal hashes."""
    order = np.argsort(hashes, kind="mergesort")
    n = order.shape[0]
    start = 0
    while start < n:
        stop = start + 1
        while stop < n and hashes[order[stop]] == hashes[order[start]]:
            stop += 1
        for a in range(start, stop):
            for b in range(a + 1, stop):
                i, j = order[a], order[b]
                if np.array_equal(x[i], x[j]):
                    distances[i, j] = 0.0
                    distances[j, i] = 0.0
        start = stop


def _gram_torch(centred: np.ndarray, block: int) -> np.ndarray:
    import torch

    x = torch.from_numpy(centred).to("cuda")
    n = x.shape[0]
    gram = np.empty((n, n), np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        gram[start:stop] = (x[start:stop] @ x.T).cpu().numpy()  # (b, N)
    return gram


# The split path (see _split_product): at most this many parts, each at least this many feature
# columns wide, and at most this much memory for the partial products beyond the result's own.
_SPLIT_MAX_PARTS = 8
_SPLIT_MIN_COLUMNS = 1024
_SPLIT_MAX_EXTRA_BYTES = 512 * 2**20


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _split_parts(n: int, d: int) -> int:
    """How many column parts the CPU product is split into (1 = BLAS's own threading)."""
    extra_allowed = 1 + _SPLIT_MAX_EXTRA_BYTES // max(1, 4 * n * n)
    return max(1, min(_usable_cores(), _SPLIT_MAX_PARTS, d // _SPLIT_MIN_COLUMNS, extra_allowed))


def _column_bounds(d: int, parts: int) -> list[int]:
    """parts + 1 column bounds, inner ones on multiples of _BLOCK (whole vectorised blocks)."""
    inner = [int(round(d * p / parts / _BLOCK)) * _BLOCK for p in range(1, parts)]
    return [0, *inner, d]


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _on_threads(work, parts: int) -> None:
    """work(0) .. work(parts - 1) at once: part 0 on the calling thread, the rest on a pool.
    Errors are raised here, after every part has ended (no part is left writing into arrays)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool_size < parts - 1:  # the old pool's threads end once idle work is done
            _pool_size = parts - 1
            _pool = ThreadPoolExecutor(max_workers=_pool_size, thread_name_prefix="framechain-distances")
        pool = _pool
    futures = [pool.submit(work, p) for p in range(1, parts)]
    error = None
    try:
        work(0)
    except BaseException as exc:  # noqa: BLE001 - re-raised below, once the others have stopped
        error = exc
    for future in futures:
        try:
            future.result()
        except BaseException as exc:  # noqa: BLE001
            error = error or exc
    if error is not None:
        raise error


_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@functools.lru_cache(maxsize=1)
def _thread_controller():
    from threadpoolctl import ThreadpoolController  # finds the BLAS that numpy loaded

    return ThreadpoolController()


@contextlib.contextmanager
def _blas_single_threaded():
    """BLAS on one thread per call while the split path's threads each run a product (the
    setting is process-wide: the first caller in sets it, the last one out restores it)."""
    global _blas_users, _blas_limiter
    with _blas_lock:
        if _blas_users == 0:
            _blas_limiter = _thread_controller().limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


def frame_distances(features: np.ndarray, *, device: str = "cpu", block: int = 4096,
                    refine_per_row: int = 2) -> np.ndarray:
    """(N, d) float32 features -> (N, N) float32 Euclidean distances, symmetric, zero diagonal.

    device: "cpu" (numpy/BLAS: `Xc @ Xc.T` as symmetric rank-k updates at half a general product's
    cost, split by columns over the cores), "cuda" (torch, in row blocks of `block`), or
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
    per_row = int(refine_per_row)
    parts = 1 if use_cuda else _split_parts(n, d)
    weights = _hash_weights(d)
    scratch = _take_scratch(x.shape)  # N*d float32 for the centred copy: the input is never modified
    if parts > 1:
        distances, step_sq, hashes = _split_product(x, weights, scratch, parts, per_row)
    else:
        distances, step_sq, hashes = _whole_product(x, weights, scratch, per_row, use_cuda, block)
    _write_steps(distances, step_sq)
    _zero_exact_duplicates(x, hashes, distances)
    return distances


@numba.njit(cache=True)
def _unique_pairs(partners):
    """(N, per_row) partner table (-1 = none) -> (first, second) with first < second, each pair once."""
    n, per_row = partners.shape
    keys = np.empty(n * per_row, np.int64)
    count = 0
    for i in range(n):
        for s in range(per_row):
            j = partners[i, s]
            if j >= 0:
                keys[count] = min(i, j) * n + max(i, j)
                count += 1
    keys = np.sort(keys[:count])
    first = np.empty(count, np.int64)
    second = np.empty(count, np.int64)
    kept = 0
    for p in range(count):
        if p == 0 or keys[p] != keys[p - 1]:
            first[kept] = keys[p] // n
            second[kept] = keys[p] % n
            kept += 1
    return first[:kept], second[:kept]


def _whole_product(x, weights, scratch, per_row, use_cuda, block):
    """The centring pass, `Xc @ Xc.T` on BLAS's own threads (or CUDA), and the passes after it as
    numba parallel regions (serial below _PARALLEL_MIN_PAIRS)."""
    n, d = x.shape
    sq = np.empty(n, np.float64)
    step_sq = np.zeros(max(n - 1, 0), np.float64)
    hashes = np.empty(n, np.uint32)
    parallel = n * n >= _PARALLEL_MIN_PAIRS
    mean = _sampled_mean(x, _MEAN_ROWS, 0, d)
    (_centre_parallel if parallel else _centre_serial)(x, x.view(np.uint32), mean, weights, 0, d, scratch,
                                                       sq, step_sq, hashes)
    distances = _gram_torch(scratch, block) if use_cuda else scratch @ scratch.T  # (N, N)
    _give_back_scratch(scratch)
    partners = np.empty((n, per_row), np.int64)
    no_extra = np.empty((0, n, n), np.float32)
    (_gram_to_distances_parallel if parallel else _gram_to_distances_serial)(
        distances, no_extra, sq, _CANCELLATION_RATIO, 0, n, partners)
    first, second = _unique_pairs(partners)
    (_refine_pairs_parallel if parallel else _refine_pairs_serial)(distances, x, first, second)
    return distances, step_sq, hashes


def _split_product(x, weights, scratch, parts, per_row):
    """The same work split over `parts` threads by feature columns, each running single-threaded
    BLAS: thread p centres its columns and takes their product; the partial products add up to
    the whole. On 2 cores this beats BLAS's own threading of one product (at N=500, d=9216: 17 vs
    22 ms; each part is a whole rank-k update, so the threads never wait for each other), and the
    centring runs on both cores. The passes after the product are split by rows and by pairs."""
    n, d = x.shape
    bounds = _column_bounds(d, parts)
    bits = x.view(np.uint32)
    sq = np.zeros((parts, n), np.float64)
    step_sq = np.zeros((parts, max(n - 1, 0)), np.float64)
    hashes = np.zeros((parts, n), np.uint32)
    distances = np.empty((n, n), np.float32)
    extra = np.empty((parts - 1, n, n), np.float32)
    flat = scratch.reshape(-1)

    def centre_and_multiply(p):
        lo, hi = bounds[p], bounds[p + 1]
        centred = flat[n * lo:n * hi].reshape(n, hi - lo)
        mean = _sampled_mean(x, _MEAN_ROWS, lo, hi)
        _centre_serial(x, bits, mean, weights[lo:hi], lo, hi, centred, sq[p], step_sq[p], hashes[p])
        np.matmul(centred, centred.T, out=distances if p == 0 else extra[p - 1])

    with _blas_single_threaded():
        _on_threads(centre_and_multiply, parts)
    _give_back_scratch(scratch)
    sq_total = sq.sum(axis=0)
    partners = np.empty((n, per_row), np.int64)
    rows = np.linspace(0, n, parts + 1).astype(np.int64)
    _on_threads(lambda p: _gram_to_distances_serial(distances, extra, sq_total, _CANCELLATION_RATIO,
                                                    rows[p], rows[p + 1], partners), parts)
    del extra
    first, second = _unique_pairs(partners)
    chunks = np.linspace(0, first.shape[0], parts + 1).astype(np.int64)
    _on_threads(lambda p: _refine_pairs_serial(distances, x, first[chunks[p]:chunks[p + 1]],
                                               second[chunks[p]:chunks[p + 1]]), parts)
    return distances, step_sq.sum(axis=0), hashes.sum(axis=0, dtype=np.uint32)

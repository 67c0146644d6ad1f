"""Sparse analysis for long clips: k-nearest-neighbour candidates instead of the N x N matrices.

An hour at 30 fps is 108,000 frames: the dense distance matrix alone would take 47 GB. Only the
cheap transitions matter (the pruned chain keeps a few links per frame), so this path:

1. projects the (N, d) features on their top principal components (a random sample of frames
   fits them) and finds each frame's k nearest frames there: FAISS (exact `IndexFlatL2`, or
   IVF above `approximate_above` frames; HNSW on request), or torch matmul + topk when FAISS is
   absent. Frames within `min_jump_frames` of each other are excluded (they are no jumps); of
   each frame's `neighbours x oversample` nearest, the nearest `neighbours` local minima along
   the clip are kept (one per run of consecutive frames);
2. takes as candidate jumps of row i the neighbours j of frame i+1 (C[i, j] = D1[i+1, j]) and the
   `expand` frames either side of each (the local-minimum test of the pruning needs C[i, j +- 1],
   and the dynamics filter can move a minimum by a frame), plus the natural step i -> i+1;
3. computes each candidate's filtered cost exactly as `precompute.dynamics.transition_costs`
   does (same taps, same edge renormalisation, same forbidden jumps), from exact distances of
   the full features (exact integer sums for uint8 features, float64 accumulation otherwise),
   never from a matrix: candidates are sorted along diagonals (within blocks of 64 rows, which
   stay in cache) so that the distances D[i+k, j+k] that neighbouring rows share are computed
   once;
4. solves the future cost on that sparse graph with the dense path's maths (min form: policy
   iteration, O(nnz) per pass; expected form: back-to-front Gauss-Seidel sweeps from the min
   form's V, to the tolerance or the cap);
5. prunes with the dense path's rules (`precompute.links`) and finds the loop candidates as 2-D
   local minima of C among the cheapest backward candidates (their 8 neighbours costed exactly).

Memory is O(N k) besides the features, which may be a read-only `np.memmap` (uint8 features are
exact: area-downscaled uint8 frames are whole numbers). `mean_cost` (hence sigma and the
tolerance) is the dense path's mean over all finite non-zero costs, estimated from a fixed random
sample of pairs (`sample_pairs`; ~0.3% standard error).

Known difference from the dense path: the expected form of the future cost averages over a
frame's candidate links only, not over all N frames; the min form (the default) is the same
wherever the cheapest way on is among the candidates.
"""
from __future__ import annotations

import os
import sys
import time
import warnings
from dataclasses import dataclass

import numba
import numpy as np
from numba import types
from numba.extending import intrinsic, overload

from precompute.config import AnalysisConfig
from precompute.dynamics import binomial_weights
from precompute.errors import ConfigError
from precompute.graph import short_cycle_frames
from precompute.links import analysis_arrays

__all__ = ["SparseConfig", "sparse_links", "nearest_neighbours", "pair_costs", "pair_distances",
           "openblas_coretype"]


@dataclass(frozen=True, kw_only=True)
class SparseConfig:
    """How the sparse path finds and costs its candidates (AnalysisConfig holds the maths)."""

    neighbours: int = 16  # k: nearest frames retrieved per frame; keep it above
    #   max_links_per_frame (a clip of 27 laps keeps 91% of the dense links with 12, 97% with 14,
    #   99.5% with 16, since a frame keeps up to 7 jumps weighed among themselves). More: higher
    #   recall of the dense links, slower (cost grows linearly).
    oversample: int = 4  # neighbours x this are retrieved, and the nearest `neighbours` local
    #   minima among them kept (one per run of consecutive frames): covers more distinct jumps.
    #   1 keeps the nearest `neighbours` frames as they are.
    expand: int = 2  # frames either side of each neighbour also costed exactly. 1 is the least
    #   the local-minimum test needs; the filter and the future value move a row's minima a few
    #   frames from the nearest frame (the closing rounds follow them further). Fish clip: 2
    #   kept 99.5% of the dense links, 4 kept 99.7% at 1.6x the candidates.
    search: str = "auto"  # "auto" | "flat" | "ivf" | "hnsw" | "torch": exact FAISS below
    #   `approximate_above` frames, IVF above; "torch" (exact, no FAISS needed) is the fallback
    #   without FAISS. Approximate searches' recall: benchmarks/bench_sparse.py.
    search_dims: int = 64  # principal components the search runs on. More: candidates closer to
    #   the full-feature ranking, slower search.
    pca_sample: int = 2048  # frames (evenly spaced) that fit the principal components
    approximate_above: int = 20_000  # frames above which "auto" uses IVF over exact search
    #   (exact is N^2: ~4 s at 15,000 frames here, ~3 min at 100,000)
    ivf_lists_per_sqrt: float = 1.0  # IVF cells = this x sqrt(N): more cells, faster, lower recall
    ivf_probes: int = 16  # IVF cells searched per query: more, higher recall, slower
    hnsw_links: int = 32  # HNSW graph degree M: higher recall, more memory and build time
    hnsw_ef_search: int = 128  # HNSW search breadth: higher recall, slower queries
    hnsw_ef_construction: int = 64  # HNSW build breadth
    sample_pairs: int = 60_000  # random pairs that estimate the mean cost (sigma, tolerance)
    closing_rounds: int = 2  # rounds that cost the missing row neighbours of would-be local
    #   minima at the edge of the candidates (then re-solve the future cost); 0 guesses "not a
    #   minimum" instead
    loop_pool: int = 8  # x max_loop_candidates: cheapest backward candidates tested as loops
    seed: int = 0  # of the pair sample and the PCA sketch: same input, same analysis

    def __post_init__(self):
        checks = [
            (self.neighbours >= 1, "neighbours must be >= 1"),
            (self.oversample >= 1, "oversample must be >= 1"),
            (self.expand >= 1, "expand must be >= 1 (the local-minimum test needs j +- 1)"),
            (self.search in ("auto", "flat", "ivf", "hnsw", "torch"),
             "search must be 'auto', 'flat', 'ivf', 'hnsw' or 'torch'"),
            (self.ivf_probes >= 1 and self.ivf_lists_per_sqrt > 0, "ivf settings must be > 0"),
            (self.search_dims >= 1, "search_dims must be >= 1"),
            (self.pca_sample >= 2, "pca_sample must be >= 2"),
            (self.hnsw_links >= 4, "hnsw_links must be >= 4"),
            (self.hnsw_ef_search >= 1 and self.hnsw_ef_construction >= 1, "hnsw ef must be >= 1"),
            (self.sample_pairs >= 100, "sample_pairs must be >= 100"),
            (self.loop_pool >= 1, "loop_pool must be >= 1"),
            (self.closing_rounds >= 0, "closing_rounds must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"{message} (got {self})")


# ----------------------------------------------------------------------------------------------
# exact distances and filtered costs for given pairs


_LANES = 32  # uint8 pairs per vector instruction group of _squared_u8_lanes
_UNROLL = 4  # independent accumulators (a step covers _LANES x _UNROLL elements)


@intrinsic
def _squared_u8_lanes(typingctx, x, y):
    """sum((x - y)^2) over the first len(x) // (_LANES _UNROLL) * (_LANES _UNROLL) elements of
    two 1-D C-contiguous uint8 arrays, exact, as int64 (the rest: _squared_whole's loop).

    numba types integer arithmetic as int64, which leaves 4 lanes per 256-bit instruction; this
    is the loop in LLVM IR on 16-bit lanes instead: 32 differences (|x - y| <= 255) at a time,
    squared in 16 bits (255^2 < 2^16, exact read as unsigned), added in 32-bit lanes (each sums
    at most d / 32 squares: exact for d below ~1 million), the lanes summed in 64 bits. Per
    6,912-dim pair in cache: 0.56 us against 1.8 us for the int64 loop; generic vector IR, so
    LLVM lowers it for any CPU. (x86's pmaddwd, 0.43 us in cache, gave nothing in the candidate
    stage: 7.5 s of CPU either way at 100,000 frames.)
    """
    from llvmlite import ir

    sig = types.int64(x, y)

    def codegen(context, builder, signature, args):
        first = context.make_array(signature.args[0])(context, builder, args[0])
        second = context.make_array(signature.args[1])(context, builder, args[1])
        n = builder.extract_value(first.shape, 0)
        i8, i16, i32, i64 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
        bytes_v = ir.VectorType(i8, _LANES)
        words_v = ir.VectorType(i16, _LANES)
        sums_v = ir.VectorType(i32, _LANES)
        wide_v = ir.VectorType(i64, _LANES)
        zero = ir.Constant(sums_v, [0] * _LANES)
        step = _LANES * _UNROLL
        whole = builder.and_(n, ir.Constant(i64, -step))  # the vector part's length
        entry = builder.block
        body = builder.append_basic_block("vector")
        done = builder.append_basic_block("done")
        builder.cbranch(builder.icmp_signed(">", whole, ir.Constant(i64, 0)), body, done)

        builder.position_at_end(body)
        k = builder.phi(i64)
        accs = [builder.phi(sums_v) for _ in range(_UNROLL)]
        grown = []
        for u, acc in enumerate(accs):
            at = builder.add(k, ir.Constant(i64, u * _LANES))
            a = builder.load(builder.bitcast(builder.gep(first.data, [at]), bytes_v.as_pointer()),
                             align=1)
            b = builder.load(builder.bitcast(builder.gep(second.data, [at]), bytes_v.as_pointer()),
                             align=1)
            diff = builder.sub(builder.zext(a, words_v), builder.zext(b, words_v))  # -255 .. 255
            grown.append(builder.add(acc, builder.zext(builder.mul(diff, diff), sums_v)))
        k_next = builder.add(k, ir.Constant(i64, step))
        k.add_incoming(ir.Constant(i64, 0), entry)
        k.add_incoming(k_next, body)
        for acc, new in zip(accs, grown):
            acc.add_incoming(zero, entry)
            acc.add_incoming(new, body)
        builder.cbranch(builder.icmp_signed("<", k_next, whole), body, done)

        builder.position_at_end(done)
        lanes = []
        for new in grown:
            lane = builder.phi(sums_v)
            lane.add_incoming(zero, entry)
            lane.add_incoming(new, body)
            lanes.append(lane)
        total = builder.zext(lanes[0], wide_v)
        for lane in lanes[1:]:
            total = builder.add(total, builder.zext(lane, wide_v))
        name = f"llvm.vector.reduce.add.v{_LANES}i64"
        add_lanes = builder.module.globals.get(name) or ir.Function(
            builder.module, ir.FunctionType(i64, [wide_v]), name=name)
        return builder.call(add_lanes, [total])

    return sig, codegen


def _squared_whole(x, y):
    """sum((x - y)^2) of whole-number features as float64, exact (compiled: see the overload)."""
    return float(((np.asarray(x, np.int64) - np.asarray(y, np.int64)) ** 2).sum())


@overload(_squared_whole)
def _squared_whole_compiled(x, y):
    vector = x.dtype == types.uint8 and y.dtype == types.uint8  # else only typed in a branch
    #   that float features never take

    def whole_squares(x, y):
        acc = _squared_u8_lanes(x, y) if vector else 0
        for k in range(x.shape[0] // (_LANES * _UNROLL) * (_LANES * _UNROLL) if vector else 0,
                       x.shape[0]):
            t = np.int64(x[k]) - np.int64(y[k])
            acc += t * t
        return np.float64(acc)

    return whole_squares


@numba.njit(cache=True, fastmath={"reassoc", "contract"})
def _squared_real(x, y):
    # float64 accumulation (no cancellation); reassociation lets the sum vectorise (~5x)
    acc = 0.0
    for k in range(x.shape[0]):
        t = np.float64(x[k]) - np.float64(y[k])
        acc += t * t
    return acc


@numba.njit(cache=True)
def _rms(features, a, b, scale, whole):
    # float32 like the dense path's matrix: sqrt of the exact sum, then the RMS scale
    if whole:
        squared = _squared_whole(features[a], features[b])
    else:
        squared = _squared_real(features[a], features[b])
    return np.float32(np.sqrt(squared)) * scale


@numba.njit(parallel=True, cache=True)
def _pair_distances(features, first, second, scale, whole, out):
    for t in numba.prange(first.shape[0]):
        out[t] = _rms(features, first[t], second[t], scale, whole)


@numba.njit(parallel=True, cache=True)
def _diagonal_costs(features, rows, offsets, weights, first_tap, min_jump, first_target, scale,
                    whole, chunk, out):
    """out[e] = C[rows[e], rows[e] + 1 + offsets[e]] exactly as dynamics.transition_costs.

    Entries are sorted by (offset, row): along one diagonal, consecutive rows share all taps but
    one, so each D[r, r + o] is computed once per run (the window slides).
    """
    n = features.shape[0]
    total = rows.shape[0]
    taps = weights.shape[0]
    chunks = (total + chunk - 1) // chunk
    for c in numba.prange(chunks):
        window = np.empty(taps, np.float32)  # D[a + k, a + k + o] for k = first_tap ...; nan: none
        have_offset = np.int64(-1 << 62)
        have_a = np.int64(-1 << 62)
        for e in range(c * chunk, min(total, (c + 1) * chunk)):
            i = rows[e]
            o = offsets[e]
            a = i + 1  # C[i, j] = D1[i + 1, j]
            j = a + o
            shift = a - have_a
            if o == have_offset and 0 <= shift < taps:
                for t in range(taps - shift):
                    window[t] = window[t + shift]
                start = taps - shift
            else:
                start = 0
            for t in range(start, taps):
                r = a + first_tap + t
                if 0 <= r < n and 0 <= r + o < n:
                    window[t] = _rms(features, r, r + o, scale, whole)
                else:
                    window[t] = np.nan
            have_offset = o
            have_a = a
            acc = 0.0
            wsum = 0.0
            for t in range(taps):
                if not np.isnan(window[t]):
                    acc += weights[t] * window[t]
                    wsum += weights[t]
            if wsum > 0.0:
                value = np.float32(acc / wsum)
            elif a >= n and j >= 1:  # past the end with m = 0: the last frame against j - 1
                value = _rms(features, n - 1, j - 1, scale, whole)
            else:
                value = np.float32(np.inf)
            step = j - a  # = o
            if j == i or (step != 0 and (abs(step) < min_jump or j < first_target)) or j < 0 \
                    or j >= n:
                value = np.float32(np.inf)  # staying, stutters and skips are forbidden
            elif step == 0:
                value = np.float32(0.0)  # the natural step, exact
            out[e] = value


def _check_features(features) -> np.ndarray:
    x = features if isinstance(features, np.ndarray) else np.asarray(features)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"features must be (N, d) with N >= 2, got shape {x.shape}")
    if x.dtype not in (np.float32, np.float64, np.uint8, np.float16):
        raise ValueError(f"features must be float32 (or uint8/float16/float64), got {x.dtype}")
    if not x.flags.c_contiguous:
        raise ValueError("features must be C-contiguous (N, d); pass np.ascontiguousarray(features)")
    return x


def _index_array(values, n: int, name: str) -> np.ndarray:
    v = np.ascontiguousarray(values, dtype=np.int64)
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D frame indices, got shape {v.shape}")
    return v


def pair_distances(features: np.ndarray, first, second) -> np.ndarray:
    """Exact RMS distances D[first[t], second[t]]: (N, d) features, (M,) indices -> (M,) float32.

    RMS units: Euclidean distance / sqrt(d), accumulated in float64 (no cancellation).
    """
    x = _check_features(features)
    n = x.shape[0]
    a = _index_array(first, n, "first")
    b = _index_array(second, n, "second")
    if a.shape != b.shape:
        raise ValueError(f"first and second must have one length, got {a.shape} and {b.shape}")
    if a.size and (min(a.min(), b.min()) < 0 or max(a.max(), b.max()) >= n):
        raise ValueError(f"frame indices must be in 0..{n - 1}")
    out = np.empty(a.shape[0], np.float32)
    _pair_distances(x, a, b, np.float32(1.0 / np.sqrt(x.shape[1])), x.dtype == np.uint8, out)
    return out


_ROW_BLOCK = 64  # rows costed together (pair_costs): 64 + 4 frames of 6,912 bytes fit in L2


def pair_costs(features: np.ndarray, rows, targets, *, m: int = 2, min_jump_frames: int = 1,
               chunk: int = 2048) -> np.ndarray:
    """Transition costs C[i, j] for given pairs, as `transition_costs` would give them, without
    a matrix: (N, d) features, (M,) rows i and targets j -> (M,) float32 (inf where forbidden).

    C[i, j] = D1[i+1, j] with the binomial diagonal filter of half-width m (taps outside the clip
    dropped and the rest renormalised), 0 for the natural step j = i + 1, inf for j = i, for
    jumps landing fewer than `min_jump_frames` frames from the natural successor, and for jumps
    onto the first m frames (they lack the filter's backward taps).
    """
    x = _check_features(features)
    n = x.shape[0]
    i = _index_array(rows, n, "rows")
    j = _index_array(targets, n, "targets")
    if i.shape != j.shape:
        raise ValueError(f"rows and targets must have one length, got {i.shape} and {j.shape}")
    if i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n):
        raise ValueError(f"frame indices must be in 0..{n - 1}")
    offsets = j - i - 1  # diagonal of D: C[i, j] reads D[i+1+k, j+k], j+k - (i+1+k) = offset
    # by blocks of _ROW_BLOCK rows, then along diagonals, rows ascending: a block's own frames
    # stay in cache while its diagonals are costed, and neighbouring diagonals (the +-expand
    # around one neighbour) read the same target frames one after another. Against one pass per
    # diagonal over the whole clip: ~30% less CPU at 100,000 frames (random reads of 691 MB).
    key = ((i // _ROW_BLOCK) * (2 * n + 1) + (offsets + n)) * _ROW_BLOCK + i % _ROW_BLOCK
    order = np.argsort(key, kind="stable")
    values = np.empty(i.shape[0], np.float32)
    _diagonal_costs(x, np.ascontiguousarray(i[order]), np.ascontiguousarray(offsets[order]),
                    binomial_weights(m), -m if m else 0, int(max(1, min_jump_frames)), int(m),
                    np.float32(1.0 / np.sqrt(x.shape[1])), x.dtype == np.uint8, int(chunk), values)
    out = np.empty_like(values)
    out[order] = values
    return out


# ----------------------------------------------------------------------------------------------
# nearest-neighbour search


def openblas_coretype() -> str | None:
    """Pin OPENBLAS_CORETYPE before FAISS loads its bundled OpenBLAS (0.3.15 in faiss-cpu 1.15),
    which predates Sapphire Rapids, misreads such CPUs and ran exact search ~2-5x slower here.

    Returns the value in force (set here only when unset and FAISS is not loaded yet).
    """
    if "OPENBLAS_CORETYPE" not in os.environ and "faiss" not in sys.modules:
        flags = ""
        try:
            with open("/proc/cpuinfo") as cpuinfo:
                for line in cpuinfo:
                    if line.startswith("flags"):
                        flags = line
                        break
        except OSError:
            pass
        words = set(flags.split())
        if "avx512f" in words:
            os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
        elif "avx2" in words:
            os.environ["OPENBLAS_CORETYPE"] = "Haswell"
    return os.environ.get("OPENBLAS_CORETYPE")


def _faiss():
    openblas_coretype()
    try:
        import faiss
    except ImportError:
        return None
    return faiss


def _orthonormal(y: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning y (S, w), by Cholesky-QR in float64 (w is small)."""
    y = y.astype(np.float64)
    gram = y.T @ y  # (w, w)
    gram += np.eye(gram.shape[0]) * (1e-12 * np.trace(gram) + 1e-300)
    lower = np.linalg.cholesky(gram)
    return np.linalg.solve(lower, y.T).T.astype(np.float32)  # y L^-T


def _principal_projection(x: np.ndarray, dims: int, sample: int, seed: int) -> np.ndarray:
    """(N, d) features -> (N, r) float32 coordinates on the top r principal components.

    The components come from `sample` evenly spaced frames (a randomized range finder with two
    power iterations); the projection streams the features in blocks (memmaps stay on disk).
    """
    n, d = x.shape
    r = min(dims, d)
    if r == d:  # already small: search the features themselves
        out = np.empty((n, d), np.float32)
        for start in range(0, n, 8192):
            out[start:start + 8192] = x[start:start + 8192]
        return out
    picks = np.unique(np.linspace(0, n - 1, min(n, sample)).round().astype(np.int64))
    s = x[picks].astype(np.float32)  # (S, d)
    mean = s.mean(axis=0, dtype=np.float64).astype(np.float32)
    s -= mean
    rng = np.random.default_rng(seed)
    width = min(r + 16, min(s.shape))
    q = s @ rng.standard_normal((d, width)).astype(np.float32)  # (S, width)
    for _ in range(3):  # range finder with power iterations; orthonormalised by Cholesky-QR:
        # only (width, width) factorisations, since LAPACK's tall QR crawled (seconds) on this
        # shared CPU
        q = _orthonormal(q)
        q = s @ (s.T @ q)
    q = _orthonormal(q)
    b = (q.T @ s).astype(np.float64)  # (width, d)
    eigenvalues, u = np.linalg.eigh(b @ b.T)  # (width,), (width, width): B = U S V^T
    top = np.argsort(eigenvalues)[::-1][:r]
    scale = 1.0 / np.sqrt(np.maximum(eigenvalues[top], 1e-30))
    basis = np.ascontiguousarray((b.T @ u[:, top]) * scale, dtype=np.float32)  # (d, r) = V
    out = np.empty((n, basis.shape[1]), np.float32)
    buffer = np.empty((min(n, 8192), d), np.float32)  # one buffer: a fresh 226 MB block each
    #   time cost more in page faults than the conversion itself
    for start in range(0, n, 8192):
        block = buffer[:min(8192, n - start)]  # (b, d)
        np.subtract(x[start:start + 8192], mean, out=block, dtype=np.float32)
        np.matmul(block, basis, out=out[start:start + 8192])  # (b, r)
    return out


def _search_torch(points: np.ndarray, k: int, band: int) -> np.ndarray:
    import torch

    x = torch.from_numpy(points)
    n = x.shape[0]
    sq = (x * x).sum(1)
    k = min(k, n)
    result = np.empty((n, k), np.int64)
    for start in range(0, n, 1024):
        stop = min(n, start + 1024)
        d = sq[start:stop, None] + sq[None, :] - 2.0 * (x[start:stop] @ x.T)  # (b, N)
        rows = torch.arange(start, stop)[:, None]
        cols = torch.arange(n)[None, :]
        d[(cols - rows).abs() <= band] = float("inf")  # no jump to itself or its neighbours
        result[start:stop] = torch.topk(d, k, dim=1, largest=False).indices.numpy()
    return result


def nearest_neighbours(points: np.ndarray, k: int, *, exclude_within: int = 0,
                       method: str = "flat", config: SparseConfig = SparseConfig()) -> np.ndarray:
    """The k nearest frames of each frame, excluding frames within `exclude_within` of it.

    points: (N, r) float32 (e.g. principal-component coordinates). Returns (N, k) int64 frame
    indices, nearest first, -1 where fewer exist. method: "flat" (FAISS exact), "hnsw" (FAISS
    approximate; recall measured by benchmarks/bench_sparse.py), "torch" (exact).
    """
    p = np.ascontiguousarray(points, dtype=np.float32)
    if p.ndim != 2:
        raise ValueError(f"points must be (N, r), got shape {p.shape}")
    n = p.shape[0]
    band = int(exclude_within)
    if method == "torch":
        found = _search_torch(p, k, band)
    else:
        faiss = _faiss()
        if faiss is None:
            raise ConfigError("FAISS is not installed: pip install 'framechain[sparse]', or use "
                              "SparseConfig(search='torch')")
        wanted = min(n, k + 2 * band + 1)  # the excluded band takes up to 2 band + 1 slots
        if method == "ivf":
            lists = max(1, min(n // 39, int(config.ivf_lists_per_sqrt * np.sqrt(n))))
            quantizer = faiss.IndexFlatL2(p.shape[1])
            index = faiss.IndexIVFFlat(quantizer, p.shape[1], lists)
            sample = p[np.linspace(0, n - 1, min(n, 40 * lists)).round().astype(np.int64)]
            index.train(sample)
            index.nprobe = min(lists, config.ivf_probes)
        elif method == "hnsw":
            index = faiss.IndexHNSWFlat(p.shape[1], config.hnsw_links)
            index.hnsw.efConstruction = config.hnsw_ef_construction
            index.hnsw.efSearch = max(config.hnsw_ef_search, wanted)
        elif method == "flat":
            index = faiss.IndexFlatL2(p.shape[1])
        else:
            raise ValueError(f"method must be 'flat', 'ivf', 'hnsw' or 'torch', got {method!r}")
        index.add(p)
        found = np.empty((n, wanted), np.int64)
        for start in range(0, n, 16384):  # bounded result buffers
            _, found[start:start + 16384] = index.search(p[start:start + 16384], wanted)
        del index
    found = found.astype(np.int64)
    own = np.arange(n)[:, None]
    found[(found >= 0) & (np.abs(found - own) <= band)] = -1
    # keep the first k valid per row, nearest first
    order = np.argsort(found < 0, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(found, order, axis=1)


@numba.njit(parallel=True, cache=True)
def _valleys(found, keep, keep_short, min_cycle, out):
    """Per row: the nearest neighbours that are local minima of the distance along the clip (no
    frame b +- 1 nearer). A recurring motion puts whole runs of consecutive frames among a
    frame's neighbours; one per run (per valley of the cost row) covers more of the jumps the
    dense pruning keeps. Frames not found are farther than all found ones.
    Up to `keep` of them, plus up to `keep_short` of those b with a - min_cycle < b < a: as jumps
    of row a - 1 these close cycles shorter than `precompute.graph` lets play take, but they are
    the short loops an exported loop is made of; counted apart, they never take the slot of a
    jump that play may use. out: (N, keep + keep_short), -1 padded."""
    n, width = found.shape
    for a in numba.prange(n):
        kept = 0
        kept_short = 0
        for r in range(width):
            b = found[a, r]
            if b < 0:
                continue
            short = a - min_cycle < b < a
            if (short and kept_short >= keep_short) or (not short and kept >= keep):
                continue
            valley = True
            for q in range(r):  # nearer ones
                if found[a, q] == b - 1 or found[a, q] == b + 1:
                    valley = False
                    break
            if valley:
                out[a, kept + kept_short] = b
                if short:
                    kept_short += 1
                else:
                    kept += 1
        for r in range(kept + kept_short, out.shape[1]):
            out[a, r] = -1


# ----------------------------------------------------------------------------------------------
# candidate graph


@numba.njit(parallel=True, cache=True)
def _count_row_candidates(neighbours, expand, min_jump, first_target, counts, scratch):
    """Per row i: the sorted unique targets j of (neighbours of i+1) +- expand, plus i + 1.

    Row N-1 has no frame i+1: it uses the neighbours of N-1 shifted by one (C[N-1, j] compares
    the last frames with those before j). Forbidden targets are left out.
    """
    n = neighbours.shape[0]
    k = neighbours.shape[1]
    width = scratch.shape[1]
    for i in numba.prange(n):
        row = scratch[i]
        count = 0
        if i + 1 < n:
            row[count] = i + 1
            count += 1
            source = i + 1
            shift = 0
        else:
            source = n - 1
            shift = 1
        for t in range(k):
            b = neighbours[source, t]
            if b < 0:
                continue
            for e in range(-expand, expand + 1):
                j = b + shift + e
                if j < 0 or j >= n or j == i:
                    continue
                step = j - (i + 1)
                if step != 0 and (abs(step) < min_jump or j < first_target):
                    continue
                row[count] = j
                count += 1
        sorted_row = np.sort(row[:count])
        unique = 0
        for t in range(count):
            if t == 0 or sorted_row[t] != sorted_row[t - 1]:
                row[unique] = sorted_row[t]
                unique += 1
        counts[i] = unique
        for t in range(unique, width):
            row[t] = -1


def _candidate_graph(neighbours: np.ndarray, expand: int, min_jump: int, first_target: int):
    n, k = neighbours.shape
    width = 1 + k * (2 * expand + 1)
    scratch = np.empty((n, width), np.int64)  # (N, 1 + k (2e+1)): O(N k)
    counts = np.zeros(n, np.int64)
    _count_row_candidates(neighbours, int(expand), int(max(1, min_jump)), int(first_target), counts,
                          scratch)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    targets = scratch[scratch >= 0]  # row-major: rows in order, targets ascending
    del scratch
    return offsets, targets


# ----------------------------------------------------------------------------------------------
# future cost on the sparse graph


@numba.njit(parallel=True, cache=True)
def _improve_sparse(offsets, targets, powered, value, alpha, policy, best):
    """One pass: best[i] = min over links (C^p + alpha V[j]) and its link index (ties stable)."""
    n = offsets.shape[0] - 1
    for i in numba.prange(n):
        current = policy[i]
        best_e = current
        best_q = np.inf
        if current >= 0:
            best_q = powered[current] + alpha * value[targets[current]]
        for e in range(offsets[i], offsets[i + 1]):
            q = powered[e] + alpha * value[targets[e]]
            # strict improvement beyond rounding keeps ties stable (inf - inf would be nan)
            margin = 1e-12 * (1.0 + abs(best_q)) if best_q < np.inf else 0.0
            if q < best_q - margin:
                best_q = q
                best_e = e
        policy[i] = best_e
        best[i] = best_q


# The exact evaluation of a fixed policy is the dense solver's (one successor per frame).
from precompute.future_cost import _evaluate_policy as _evaluate_sparse_policy  # noqa: E402


@numba.njit(cache=True)
def _expected_sweeps_sparse(offsets, targets, powered, value, alpha, sigma, tolerance, max_passes):
    """In-place back-to-front sweeps of the expected form over the links. (passes, change)."""
    n = offsets.shape[0] - 1
    change = np.inf
    passes = 0
    while passes < max_passes:
        passes += 1
        change = 0.0
        for i in range(n - 1, -1, -1):
            qmin = np.inf
            for e in range(offsets[i], offsets[i + 1]):
                q = powered[e] + alpha * value[targets[e]]
                if q < qmin:
                    qmin = q
            wsum = 0.0
            acc = 0.0
            for e in range(offsets[i], offsets[i + 1]):
                q = powered[e] + alpha * value[targets[e]]
                w = np.exp(-(q - qmin) / sigma)
                wsum += w
                acc += w * q
            new = acc / wsum
            d = abs(new - value[i])
            if d > change:
                change = d
            value[i] = new
        if change < tolerance:
            break
    return passes, change


def _sparse_future_cost(offsets, targets, powered, *, alpha, form, sigma, tolerance, max_passes):
    """V on the candidate graph: (N+1,) offsets, (nnz,) targets and C^p -> (V, passes, converged)."""
    n = offsets.shape[0] - 1
    value = np.zeros(n, np.float64)
    policy = np.full(n, -1, np.int64)
    best = np.empty(n, np.float64)
    passes, residual, converged = 0, np.inf, False
    while passes < max_passes:
        passes += 1
        _improve_sparse(offsets, targets, powered, value, float(alpha), policy, best)
        residual = float(np.max(np.abs(best - value)))
        if residual < tolerance:
            converged = True
            value = best.copy()
            break
        _evaluate_sparse_policy(targets[policy], powered[policy], float(alpha), value)
    if form == "expected":
        remaining = max(1, max_passes - passes)
        extra, residual = _expected_sweeps_sparse(offsets, targets, powered, value, float(alpha),
                                                  float(sigma), float(tolerance), remaining)
        passes += int(extra)
        converged = residual < tolerance
    if not converged:
        warnings.warn(f"future cost stopped after {passes} passes with change {residual:.3g} "
                      f"> tolerance {tolerance:.3g}; raise max_passes", RuntimeWarning, stacklevel=3)
    return value, passes, converged


# ----------------------------------------------------------------------------------------------
# pruning (precompute.links' rules on the candidate graph)


@numba.njit(parallel=True, cache=True)
def _candidate_flags(offsets, targets, costs, value, alpha, power, min_jump, first_target,
                     restless, flags):
    """flags[e]: link e is the natural step or a jump at a local minimum of F along its row (the
    dense path's candidate rule, `precompute.links.dense_candidates`); a neighbour that was not
    costed is unknown, and no minimum is claimed beside it."""
    n = offsets.shape[0] - 1
    for i in numba.prange(n):
        lo = offsets[i]
        hi = offsets[i + 1]
        count_all = hi - lo
        f = np.empty(count_all, np.float64)
        for e in range(count_all):
            c = np.float64(costs[lo + e])
            f[e] = (c if power == 1.0 else c ** power) + alpha * value[targets[lo + e]]
        for e in range(count_all):
            j = targets[lo + e]
            if j == i + 1:
                flags[lo + e] = True
                continue
            if not f[e] < np.inf:
                continue
            is_min = True
            for side in (-1, 1):
                jj = j + side
                e2 = e + side
                if 0 <= e2 < count_all and targets[lo + e2] == jj:
                    if jj != i + 1 and f[e2] < f[e]:
                        is_min = False
                elif jj < 0 or jj >= n or jj == i or jj == i + 1 or (
                        abs(jj - i - 1) < min_jump or jj < first_target or restless[i]
                        or restless[jj]):
                    pass  # inf in the dense row (the natural step is no rival jump)
                else:
                    is_min = False
            flags[lo + e] = is_min


@numba.njit(parallel=True, cache=True)
def _undecided(offsets, targets, costs, value, alpha, power, max_jump, min_jump, first_target,
               restless, need_left, need_right):
    """Flags jumps whose local-minimum test needs a neighbour C[i, j -+ 1] not yet costed: the
    pruning would otherwise have to guess (a row's minimum at the edge of a neighbour's +-expand
    window). need_left[e] / need_right[e]: cost (i, j - 1) / (i, j + 1)."""
    n = offsets.shape[0] - 1
    for i in numba.prange(n):
        lo = offsets[i]
        hi = offsets[i + 1]
        for e in range(lo, hi):
            j = targets[e]
            if j == i + 1 or costs[e] > max_jump:
                continue
            c = np.float64(costs[e])
            f = (c if power == 1.0 else c ** power) + alpha * value[j]
            beaten = False
            unknown_left = False
            unknown_right = False
            for side in (-1, 1):
                jj = j + side
                e2 = e + side
                if lo <= e2 < hi and targets[e2] == jj:
                    c2 = np.float64(costs[e2])
                    if (c2 if power == 1.0 else c2 ** power) + alpha * value[jj] < f:
                        beaten = True
                elif jj < 0 or jj >= n or jj == i or (jj != i + 1 and (
                        abs(jj - i - 1) < min_jump or jj < first_target or restless[i]
                        or restless[jj])):
                    pass
                elif side < 0:
                    unknown_left = True
                else:
                    unknown_right = True
            if not beaten:
                need_left[e] = unknown_left
                need_right[e] = unknown_right


def _close_minima(x, offsets, targets, costs, value, *, alpha, power, max_jump, min_jump, m,
                  restless):
    """Costs the missing neighbours of undecided jumps (see _undecided) and merges them into
    the candidate graph. Returns (offsets, targets, costs, added)."""
    n = offsets.shape[0] - 1
    need_left = np.zeros(targets.shape[0], np.bool_)
    need_right = np.zeros(targets.shape[0], np.bool_)
    _undecided(offsets, targets, costs, value, float(alpha), float(power), float(max_jump),
               int(max(1, min_jump)), int(m), restless, need_left, need_right)
    if not (need_left.any() or need_right.any()):
        return offsets, targets, costs, 0
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))  # (nnz,)
    new_rows = np.concatenate([rows[need_left], rows[need_right]])
    new_targets = np.concatenate([targets[need_left] - 1, targets[need_right] + 1])
    keys = np.unique(new_rows * n + new_targets)
    new_rows, new_targets = np.divmod(keys, n)
    new_costs = pair_costs(x, new_rows, new_targets, m=m, min_jump_frames=min_jump)
    all_rows = np.concatenate([rows, new_rows])
    all_targets = np.concatenate([targets, new_targets])
    all_costs = np.concatenate([costs, new_costs])
    order = np.argsort(all_rows * n + all_targets, kind="stable")
    counts = np.bincount(all_rows, minlength=n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets, all_targets[order], all_costs[order], int(keys.size)


@numba.njit(parallel=True, cache=True)
def _keep_cheapest(offsets, targets, f, flags, max_candidates, keep):
    """keep[e]: flagged link e is the natural step or among the `max_candidates` flagged links
    of its row with the lowest f (a stable sort: ties in stored order)."""
    n = offsets.shape[0] - 1
    for i in numba.prange(n):
        lo = offsets[i]
        hi = offsets[i + 1]
        count = 0
        for e in range(lo, hi):
            if flags[e]:
                count += 1
        picked = np.empty(count, np.int64)
        values = np.empty(count, np.float64)
        count = 0
        for e in range(lo, hi):
            if flags[e]:
                picked[count] = e
                values[count] = f[e]
                count += 1
        order = np.argsort(values, kind="mergesort")
        for r in range(count):
            e = picked[order[r]]
            keep[e] = r < max_candidates or targets[e] == i + 1


def _candidates(offsets, targets, costs, value, *, alpha, power, min_jump, first_target, restless,
                max_candidates):
    """The candidate CSR table of `precompute.graph` from the costed graph: per row the natural
    step and the local minima of F (the cheapest `max_candidates` of them by F)."""
    n = offsets.shape[0] - 1
    flags = np.zeros(targets.shape[0], np.bool_)
    _candidate_flags(offsets, targets, costs, value, float(alpha), float(power), int(max(1, min_jump)),
                     int(first_target), restless, flags)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))  # (nnz,)
    f = costs.astype(np.float64) ** power + alpha * value[targets]
    # rank the flagged links of each row by F (ties in stored order); the natural step always
    # stays
    keep = np.zeros(targets.shape[0], np.bool_)
    _keep_cheapest(offsets, targets, f, flags, int(max_candidates), keep)
    counts = np.bincount(rows[keep], minlength=n)
    new_offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    return new_offsets, targets[keep].astype(np.int64), costs[keep].astype(np.float32)


# ----------------------------------------------------------------------------------------------
# loop candidates


def _loop_candidates(x, offsets, targets, costs, *, m, min_jump, max_candidates, pool):
    """Backward jumps i -> j (j <= i) at 2-D local minima of C (as links.loop_candidates), found
    from the `pool` cheapest backward candidates: each one's 8 neighbours are costed exactly and a
    candidate that one of them beats moves to the cheapest, until it is a minimum (a few steps)."""
    n = offsets.shape[0] - 1
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))  # (nnz,)
    backward = (targets <= rows) & np.isfinite(costs)
    src = rows[backward]
    dst = targets[backward]
    val = costs[backward]
    if src.size > pool:
        keep = np.argpartition(val, pool - 1)[:pool]
        src, dst, val = src[keep], dst[keep], val[keep]
    shifts = np.array([(di, dj) for di in (-1, 0, 1) for dj in (-1, 0, 1) if di or dj])  # (8, 2)
    minima = []
    for _ in range(6):  # descend: a candidate beaten by a neighbour moves to its cheapest one
        na = src[:, None] + shifts[None, :, 0]  # (P, 8)
        nb = dst[:, None] + shifts[None, :, 1]
        valid = (na >= 0) & (na < n) & (nb >= 0) & (nb <= na)
        around = np.full(na.shape, np.inf, np.float32)
        if valid.any():
            around[valid] = pair_costs(x, na[valid], nb[valid], m=m, min_jump_frames=min_jump)
        is_min = ~np.any(around < val[:, None], axis=1)
        minima.append((src[is_min], dst[is_min], val[is_min]))
        step = np.argmin(around[~is_min], axis=1)  # (moving,)
        moving = np.flatnonzero(~is_min)
        src = na[moving, step]
        dst = nb[moving, step]
        val = around[moving, step]
        if src.size:  # several candidates may descend to one place
            _, first = np.unique(src * n + dst, return_index=True)
            src, dst, val = src[first], dst[first], val[first]
        if not src.size:
            break
    src = np.concatenate([part[0] for part in minima])
    dst = np.concatenate([part[1] for part in minima])
    val = np.concatenate([part[2] for part in minima])
    _, first = np.unique(src * n + dst, return_index=True)
    src, dst, val = src[first], dst[first], val[first]
    order = np.lexsort((src - dst, val))[:max_candidates]  # by cost, then shorter
    return {
        "loop_sources": src[order].astype(np.int32),
        "loop_targets": dst[order].astype(np.int32),
        "loop_costs": val[order].astype(np.float32),
    }


# ----------------------------------------------------------------------------------------------
# the whole sparse analysis


def _previews(x: np.ndarray, m: int, size: int = 512):
    """Previews for plots: D and D1 at up to `size` evenly spaced frames (block centres), (s, s)."""
    from precompute.distances import frame_distances

    n = x.shape[0]
    step = max(1, -(-n // size))
    count = n // step
    picks = np.arange(count) * step + step // 2  # (s,) block centres
    taps = np.arange(-m, m) if m else np.arange(1)
    weights = binomial_weights(m)
    frames = np.unique(np.clip(picks[:, None] + taps[None, :], 0, n - 1))
    small = frame_distances(np.asarray(x[frames], np.float32)) * np.float32(1.0 / np.sqrt(x.shape[1]))
    where = np.searchsorted(frames, np.clip(picks, 0, n - 1))
    distances = small[np.ix_(where, where)]
    acc = np.zeros((count, count))
    wsum = np.zeros((count, count))
    for t, k in enumerate(taps):
        r = picks + k
        ok = (r >= 0) & (r < n)
        idx = np.searchsorted(frames, np.clip(r, 0, n - 1))
        both = ok[:, None] & ok[None, :]
        acc += np.where(both, weights[t] * small[np.ix_(idx, idx)], 0.0)
        wsum += np.where(both, weights[t], 0.0)
    filtered = np.where(wsum > 0, acc / np.maximum(wsum, 1e-300), np.nan)
    return distances.astype(np.float32), filtered.astype(np.float32)


def _mean_cost(x, *, m, min_jump, power, samples, seed, restless):
    """The dense path's mean of C^p over all finite non-zero costs, from random pairs."""
    n = x.shape[0]
    if n * n <= samples:  # small clips: every pair, the dense path's exact mean
        rows, cols = np.divmod(np.arange(n * n, dtype=np.int64), n)
    else:
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, n, samples)
        cols = rng.integers(0, n, samples)
    c = pair_costs(x, rows, cols, m=m, min_jump_frames=min_jump).astype(np.float64)
    c[(cols != rows + 1) & (restless[rows] | restless[cols])] = np.inf
    c = c[np.isfinite(c) & (c > 0)] ** power
    return float(c.mean()) if c.size else 1.0


def sparse_links(features: np.ndarray, *, config: AnalysisConfig = AnalysisConfig(),
                 natural_steps: np.ndarray | None = None,
                 sparse: SparseConfig = SparseConfig(), progress: bool = False,
                 fps: float = 30.0) -> tuple[dict, dict]:
    """The analysis of (N, d) features without N x N matrices -> (arrays, stats) as saved.

    features: (N, d) float32 (uint8 and float16 are read exactly as they hold), an array or a
        read-only np.memmap; never modified, read in blocks.
    natural_steps: (N-1,) float32 RMS distances of i to i+1 if already known (computed if None).
    Returns the same arrays and stats keys as `precompute.analysis.analyze_features` (the link
    arrays, future_value, natural_steps, loop candidates, previews), with stats["method"] =
    "sparse" and the search's figures under stats["sparse"].
    """
    x = _check_features(features)
    if not isinstance(config, AnalysisConfig):
        raise ConfigError(f"config must be an AnalysisConfig, got {type(config).__name__}")
    if not isinstance(sparse, SparseConfig):
        raise ConfigError(f"sparse must be a SparseConfig, got {type(sparse).__name__}")
    n, d = x.shape
    m = config.filter_half_taps
    min_jump = max(1, config.min_jump_frames)
    timings = {}
    say = (lambda text: print(f"sparse: {text}", file=sys.stderr)) if progress else (lambda text: None)

    t0 = time.perf_counter()
    if natural_steps is None:
        natural = pair_distances(x, np.arange(n - 1), np.arange(1, n))
    else:
        natural = np.asarray(natural_steps, np.float32)
        if natural.shape != (n - 1,):
            raise ValueError(f"natural_steps must be ({n - 1},), got {natural.shape}")
    positive = natural[natural > 0]
    median_step = float(np.median(positive)) if positive.size else 1.0

    method = sparse.search
    faiss_ok = method != "torch" and _faiss() is not None
    if method == "auto":
        method = ("ivf" if n > sparse.approximate_above else "flat") if faiss_ok else "torch"
    elif not faiss_ok and method in ("flat", "ivf", "hnsw"):
        raise ConfigError(f"SparseConfig(search={method!r}) needs FAISS: pip install "
                          "'framechain[sparse]', or use search='torch'")
    points = _principal_projection(x, sparse.search_dims, sparse.pca_sample, sparse.seed)  # (N, r)
    timings["project_s"] = time.perf_counter() - t0
    say(f"projected {n} frames to {points.shape[1]} dims in {timings['project_s']:.1f}s")

    t0 = time.perf_counter()
    # a frame's neighbours within min_jump - 1 frames (and itself) are no jumps: j = b for row
    # i = a - 1 is forbidden when 1 <= |b - a| <= min_jump - 1, or b = a - 1 (staying)
    exclude = max(1, min_jump - 1)
    found = nearest_neighbours(points, sparse.neighbours * sparse.oversample,
                               exclude_within=exclude, method=method, config=sparse)  # (N, k o)
    if sparse.oversample > 1:
        short = max(1, sparse.neighbours // 2)  # short loops, for export (see _valleys)
        neighbours = np.empty((n, sparse.neighbours + short), np.int64)  # (N, k + k/2)
        _valleys(found, sparse.neighbours, short, short_cycle_frames(n, fps, config.min_cycle_share),
                 neighbours)
    else:
        neighbours = found  # the nearest k as they are
    del found
    del points
    timings["search_s"] = time.perf_counter() - t0
    say(f"{method} search in {timings['search_s']:.1f}s")

    t0 = time.perf_counter()
    offsets, targets = _candidate_graph(neighbours, sparse.expand, min_jump, m)
    del neighbours
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))  # (nnz,)
    costs = pair_costs(x, rows, targets, m=m, min_jump_frames=min_jump)  # (nnz,) float32
    del rows
    timings["candidates_s"] = time.perf_counter() - t0
    say(f"{targets.size} candidate transitions costed in {timings['candidates_s']:.1f}s")

    t0 = time.perf_counter()
    # loop candidates come from every jump, before the calm-motion rule (as the dense path)
    loops = _loop_candidates(x, offsets, targets, costs, m=m, min_jump=min_jump,
                             max_candidates=config.max_loop_candidates,
                             pool=sparse.loop_pool * config.max_loop_candidates)
    timings["loops_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # the calm rule and every other choice among the candidates belong to precompute.graph;
    # here no frame is ruled out before the future cost
    restless = np.zeros(n, np.bool_)
    rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(offsets))  # (nnz,)
    finite = np.isfinite(costs)
    counts = np.bincount(rows[finite], minlength=n)
    targets, costs = targets[finite], costs[finite]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    del rows, finite
    if offsets[-1] == offsets[-2]:  # a clip so short that the last frame has nowhere to go
        extra = pair_distances(x, [n - 1], [0])
        targets = np.concatenate([targets, [0]])
        costs = np.concatenate([costs, extra])
        offsets[-1] += 1
    mean_cost = _mean_cost(x, m=m, min_jump=min_jump, power=config.power,
                           samples=sparse.sample_pairs, seed=sparse.seed, restless=restless)
    sigma = config.sigma_scale * mean_cost
    max_jump = config.max_jump_cost * median_step
    added = 0
    for _ in range(1 + sparse.closing_rounds):
        powered = costs.astype(np.float64) ** config.power
        value, passes, converged = _sparse_future_cost(
            offsets, targets, powered, alpha=config.alpha, form=config.future_form, sigma=sigma,
            tolerance=config.tolerance * mean_cost, max_passes=config.max_passes)
        if _ == sparse.closing_rounds:
            break
        offsets, targets, costs, more = _close_minima(
            x, offsets, targets, costs, value, alpha=config.alpha, power=config.power,
            max_jump=max_jump, min_jump=min_jump, m=m, restless=restless)
        costs = costs.astype(np.float32)
        added += more
        if more == 0:
            break
    timings["future_cost_s"] = time.perf_counter() - t0
    say(f"future cost: {passes} passes in {timings['future_cost_s']:.1f}s")

    t0 = time.perf_counter()
    from precompute.graph import select_links

    cand_offsets, cand_targets, cand_costs = _candidates(
        offsets, targets, costs, value, alpha=config.alpha, power=config.power, min_jump=min_jump,
        first_target=m, restless=restless, max_candidates=4 * config.max_links_per_frame)
    links, playable, graph_stats = select_links(cand_offsets, cand_targets, cand_costs, value,
                                                natural, config=config, sigma=sigma,
                                                median_step=median_step, fps=fps,
                                                wrap_cost=float(pair_distances(x, [n - 1], [0])[0]))
    timings["links_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    preview_distances, preview_filtered = _previews(x, m)
    timings["previews_s"] = time.perf_counter() - t0

    search = {
        "search": method,
        "neighbours": sparse.neighbours,
        "expand": sparse.expand,
        "search_dims": min(sparse.search_dims, d),
        "candidate_transitions": int(targets.size),
        "closing_transitions": added,
        "mean_cost_sample_pairs": sparse.sample_pairs,
        "openblas_coretype": os.environ.get("OPENBLAS_CORETYPE"),
    }
    return analysis_arrays(links, loops, future_value=value, natural_steps=natural,
                           preview_distances=preview_distances, preview_filtered=preview_filtered,
                           sigma=sigma, mean_cost=mean_cost, median_step=median_step, passes=passes,
                           converged=converged, feature_length=d, method="sparse", timings=timings,
                           playable=playable, graph_stats=graph_stats, extra_stats={"sparse": search})

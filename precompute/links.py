"""The dense path's link candidates, the loop candidates for export, and what both paths save.

Per frame i, with future costs F[i, j] = C[i, j]^p + alpha V[j], the candidates are the natural
step i -> i+1 and the jumps that are local minima of F along the row (local maxima of the
probability). Which of them are kept, and with what probability, is decided by
`precompute.graph.select_links`, the one graph core of the dense and the sparse path.
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["prune_links", "dense_candidates", "loop_candidates", "probabilities_from_costs", "analysis_arrays"]


@numba.njit(parallel=True, cache=True)
def _row_candidates(costs, value, alpha, power, out_targets, out_counts):
    """Per row i: the natural step i -> i+1 and the jumps that are local minima of F along the
    row (F = C^p + alpha V), the cheapest `out_targets.shape[1]` of them by F, in target order."""
    n = costs.shape[0]
    width = out_targets.shape[1]
    for i in numba.prange(n):
        row = costs[i]
        f = np.empty(n, np.float64)
        for k in range(n):
            c = np.float64(row[k])
            f[k] = (c if power == 1.0 else c ** power) + alpha * value[k] if c < np.inf else np.inf
        minima = np.empty(n, np.int64)
        count = 0
        for k in range(n):
            if f[k] == np.inf or k == i + 1:
                continue
            left = f[k - 1] if k > 0 and k - 1 != i + 1 else np.inf
            right = f[k + 1] if k < n - 1 and k + 1 != i + 1 else np.inf
            if f[k] <= left and f[k] <= right:
                minima[count] = k
                count += 1
        room = width - 1 if i + 1 < n else width
        if count > room:  # keep the cheapest by F
            order = np.argsort(f[minima[:count]])[:room]
            chosen = np.sort(minima[:count][order])
        else:
            chosen = minima[:count]
        kept = 0
        natural_done = i + 1 >= n
        for c in range(chosen.shape[0]):
            if not natural_done and chosen[c] > i + 1:
                out_targets[i, kept] = i + 1
                kept += 1
                natural_done = True
            out_targets[i, kept] = chosen[c]
            kept += 1
        if not natural_done:
            out_targets[i, kept] = i + 1
            kept += 1
        out_counts[i] = kept


def dense_candidates(costs: np.ndarray, value: np.ndarray, *, alpha: float, power: float,
                     max_candidates: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, N) float32 costs C and (N,) V -> the candidate CSR table of `precompute.graph`:
    (offsets (N+1,) int64, targets (nnz,) int64, visual costs (nnz,) float32), per row the
    natural step and the jumps at local minima of F along the row (the cheapest
    `max_candidates`), sorted by target."""
    c = np.asarray(costs)
    n = c.shape[0]
    if c.ndim != 2 or c.shape != (n, n) or c.dtype != np.float32:
        raise ValueError(f"costs must be (N, N) float32, got {c.shape} {c.dtype}")
    v = np.asarray(value, np.float64)
    if v.shape != (n,):
        raise ValueError(f"value must be ({n},), got {v.shape}")
    targets = np.full((n, max(2, int(max_candidates))), -1, np.int64)  # (N, width)
    counts = np.zeros(n, np.int64)
    _row_candidates(c, v, float(alpha), float(power), targets, counts)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    mask = np.arange(targets.shape[1])[None, :] < counts[:, None]
    flat = targets[mask]  # row-major: grouped by source, ascending targets
    rows = np.repeat(np.arange(n), counts)
    return offsets, flat, c[rows, flat].astype(np.float32)


def probabilities_from_costs(offsets: np.ndarray, future_costs: np.ndarray, sigma: float) -> np.ndarray:
    """Per-row softmax of -future_costs / sigma over CSR links: (nnz,) float32, rows sum to 1."""
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    offsets = np.asarray(offsets, np.int64)
    f = np.asarray(future_costs, np.float64)
    rows = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))  # (nnz,) row of each link
    row_min = np.full(len(offsets) - 1, np.inf)
    np.minimum.at(row_min, rows, f)
    w = np.exp(-(f - row_min[rows]) / sigma)
    total = np.zeros(len(offsets) - 1)
    np.add.at(total, rows, w)
    return (w / total[rows]).astype(np.float32)


def prune_links(costs: np.ndarray, value: np.ndarray, natural_steps: np.ndarray, *, config,
                sigma: float, median_step: float, fps: float,
                wrap_cost: float | None = None) -> tuple[dict, np.ndarray, dict]:
    """(N, N) float32 visual costs C and (N,) future values V -> the saved chain: (link arrays
    (docs/ARCHITECTURE.md), (N,) bool playable frames, stats). The dense path's candidates,
    then `precompute.graph.select_links`, the core both paths share."""
    from precompute.graph import select_links

    offsets, targets, visual = dense_candidates(costs, value, alpha=config.alpha, power=config.power,
                                                max_candidates=4 * config.max_links_per_frame)
    return select_links(offsets, targets, visual, value, natural_steps, config=config, sigma=sigma,
                        median_step=median_step, fps=fps, wrap_cost=wrap_cost)


@numba.njit(parallel=True, cache=True)
def _backward_minima(costs, flags):
    n = costs.shape[0]
    for i in numba.prange(n):
        for j in range(i + 1):
            c = costs[i, j]
            if c == np.inf:
                continue
            is_min = True
            for di in range(-1, 2):
                for dj in range(-1, 2):
                    if di == 0 and dj == 0:
                        continue
                    a = i + di
                    b = j + dj
                    if 0 <= a < n and 0 <= b <= a and costs[a, b] < c:
                        is_min = False
            flags[i, j] = is_min


def loop_candidates(costs: np.ndarray, *, max_candidates: int = 2000) -> dict[str, np.ndarray]:
    """Backward jumps i -> j (j <= i) at 2-D local minima of C, cheapest first.

    Each is a primitive loop: play j .. i, then jump back to j (length i - j + 1, cost C[i, j]).
    """
    c = np.asarray(costs, np.float32)
    flags = np.zeros(c.shape, np.bool_)
    _backward_minima(c, flags)
    sources, targets = np.nonzero(flags)
    values = c[sources, targets]
    order = np.lexsort((sources - targets, values))[:max_candidates]  # by cost, then shorter
    return {
        "loop_sources": sources[order].astype(np.int32),
        "loop_targets": targets[order].astype(np.int32),
        "loop_costs": values[order].astype(np.float32),
    }


def analysis_arrays(links: dict, loops: dict, *, future_value: np.ndarray, natural_steps: np.ndarray,
                    preview_distances: np.ndarray, preview_filtered: np.ndarray, sigma: float,
                    mean_cost: float, median_step: float, passes: int, converged: bool,
                    feature_length: int, method: str, timings: dict, playable: np.ndarray,
                    graph_stats: dict, extra_stats: dict | None = None) -> tuple[dict, dict]:
    """The arrays and stats a saved analysis holds (docs/ARCHITECTURE.md), the same for the
    dense and the sparse path, so that the two can never drift apart in what they save."""
    n = len(links["link_offsets"]) - 1
    arrays = dict(links, **loops)
    arrays["future_value"] = np.asarray(future_value).astype(np.float32)
    arrays["playable"] = np.asarray(playable, np.bool_)
    arrays["natural_steps"] = np.asarray(natural_steps, np.float32)
    arrays["preview_distances"] = preview_distances
    arrays["preview_filtered"] = preview_filtered
    targets = links["link_targets"]
    sources = np.repeat(np.arange(n), np.diff(links["link_offsets"]))  # (nnz,)
    jumps = targets != sources + 1
    stats = {
        "sigma": float(sigma),
        "mean_cost": float(mean_cost),
        "median_natural_step": float(median_step),
        "p95_natural_step": float(np.percentile(natural_steps, 95)),
        "future_cost_passes": int(passes),
        "future_cost_converged": bool(converged),
        "links": int(targets.size),
        "jump_links": int(jumps.sum()),
        "frames_with_jumps": int(np.unique(sources[jumps]).size),
        "mean_jump_cost": float(links["link_visual_costs"][jumps].mean()) if jumps.any() else None,
        "mean_jump_probability_per_frame": float(links["link_probabilities"][jumps].sum() / n),
        "feature_size": [int(feature_length)],
        "method": method,
        **graph_stats,
        **(extra_stats or {}),
        "timings": timings,
    }
    return arrays, stats

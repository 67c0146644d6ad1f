"""Pruning the dense chain to a few links per frame, and the loop candidates for export.

Per frame i, with future costs F[i, j] = C[i, j]^p + alpha V[j] and P[i, j] ∝ exp(-F[i, j] / sigma):
1. candidates: the natural step i -> i+1, and jumps that are local minima of F along the row
   (local maxima of P) whose visual cost C[i, j] is at most `max_jump_cost` natural steps;
2. drop those whose probability, normalised over the candidates, is below `min_probability`,
   keep the `max_links` most probable, renormalise;
3. a frame left with nothing keeps its most probable finite transition, so the chain never
   stops (the last frame, which has no natural step, always keeps a jump).
"""
from __future__ import annotations

import numba
import numpy as np

__all__ = ["prune_links", "loop_candidates", "probabilities_from_costs", "analysis_arrays"]


@numba.njit(parallel=True, cache=True)
def _prune_rows(costs, value, alpha, power, sigma, max_jump, min_probability, max_links,
                out_targets, out_counts):
    n = costs.shape[0]
    for i in numba.prange(n):
        row = costs[i]
        f = np.empty(n, np.float64)
        for k in range(n):
            c = np.float64(row[k])
            f[k] = (c if power == 1.0 else c ** power) + alpha * value[k] if c < np.inf else np.inf
        candidates = np.empty(n, np.int64)
        count = 0
        for k in range(n):
            if f[k] == np.inf:
                continue
            if k == i + 1:
                candidates[count] = k
                count += 1
                continue
            if row[k] > max_jump:
                continue
            left = f[k - 1] if k > 0 else np.inf
            right = f[k + 1] if k < n - 1 else np.inf
            if f[k] <= left and f[k] <= right:
                candidates[count] = k
                count += 1
        # probabilities over the candidates
        fmin = np.inf
        for c in range(count):
            if f[candidates[c]] < fmin:
                fmin = f[candidates[c]]
        weights = np.empty(count, np.float64)
        total = 0.0
        for c in range(count):
            weights[c] = np.exp(-(f[candidates[c]] - fmin) / sigma)
            total += weights[c]
        kept = 0
        order = np.argsort(-weights)
        for c in range(count):
            if kept >= max_links:
                break
            idx = order[c]
            if weights[idx] / total >= min_probability or kept == 0:
                out_targets[i, kept] = candidates[idx]
                kept += 1
        if kept == 0:  # nothing passed the visual threshold: the cheapest finite way on
            best = -1
            best_f = np.inf
            for k in range(n):
                if f[k] < best_f:
                    best_f = f[k]
                    best = k
            out_targets[i, 0] = best
            kept = 1
        out_counts[i] = kept


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


def prune_links(costs: np.ndarray, value: np.ndarray, *, alpha: float, power: float, sigma: float,
                max_jump_cost: float, min_probability: float = 0.01,
                max_links: int = 8) -> dict[str, np.ndarray]:
    """(N, N) float32 visual costs C and (N,) future values V -> CSR links (see ARCHITECTURE.md).

    sigma is absolute (cost^p units); max_jump_cost absolute (cost units). Returns link_offsets,
    link_targets, link_visual_costs, link_future_costs, link_probabilities.
    """
    c = np.asarray(costs)
    n = c.shape[0]
    if c.ndim != 2 or c.shape != (n, n) or c.dtype != np.float32:
        raise ValueError(f"costs must be (N, N) float32, got {c.shape} {c.dtype}")
    v = np.asarray(value, np.float64)
    if v.shape != (n,):
        raise ValueError(f"value must be ({n},), got {v.shape}")
    targets = np.full((n, max_links), -1, np.int64)
    counts = np.zeros(n, np.int64)
    _prune_rows(c, v, float(alpha), float(power), float(sigma), float(max_jump_cost),
                float(min_probability), int(max_links), targets, counts)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    rows = np.repeat(np.arange(n), counts)  # (nnz,)
    mask = np.arange(max_links)[None, :] < counts[:, None]
    link_targets = targets[mask].astype(np.int32)  # row-major: grouped by source frame
    order = np.lexsort((link_targets, rows))  # within a row, by destination frame
    link_targets = link_targets[order]
    visual = c[rows, link_targets].astype(np.float32)
    future = (np.power(visual.astype(np.float64), power) + alpha * v[link_targets]).astype(np.float32)
    return {
        "link_offsets": offsets,
        "link_targets": link_targets,
        "link_visual_costs": visual,
        "link_future_costs": future,
        "link_probabilities": probabilities_from_costs(offsets, future, sigma),
    }


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
                    feature_length: int, method: str, timings: dict,
                    extra_stats: dict | None = None) -> tuple[dict, dict]:
    """The arrays and stats a saved analysis holds (docs/ARCHITECTURE.md), the same for the
    dense and the sparse path, so that the two can never drift apart in what they save."""
    n = len(links["link_offsets"]) - 1
    arrays = dict(links, **loops)
    arrays["future_value"] = np.asarray(future_value).astype(np.float32)
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
        **(extra_stats or {}),
        "timings": timings,
    }
    return arrays, stats

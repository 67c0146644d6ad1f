"""Future cost: what a jump leads to, not only what it looks like (avoiding dead ends).

With transition costs C[i, j] (inf = forbidden) raised to p, the future cost of the transition
i -> j is `F[i, j] = C[i, j]^p + alpha * V[j]`, where V[j] is the cost of being at frame j:

- min form (Q-learning):   V[j] = min_k F[j, k]
- expected form:           V[j] = sum_k P2[j, k] F[j, k],  P2[j, k] ∝ exp(-F[j, k] / sigma)

Index shift, the trap of the paper's notation: the paper's D''[i+1, j] is our F[i, j] (its D''[i, j]
is the cost of moving from frame i-1 to j). Keeping V per frame avoids the shift entirely.

Solvers (the number of full-matrix passes is reported):
- min form: policy iteration. Each pass is one sweep of the matrix that finds every frame's best
  next frame under the current V and the Bellman residual; the fixed policy is then evaluated
  exactly in O(N) (each frame has one successor, so the policy graph is paths into cycles, solved
  in closed form). It stops when the residual is below the tolerance, typically within 3-10
  passes, where plain value iteration needs ~800 at alpha = 0.995.
- expected form: started from the min form's V (the expectation can only cost more), then
  in-place sweeps from the last frame to the first (Gauss-Seidel, as the paper does), until the
  largest change is below the tolerance, or the cap.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["FutureCost", "future_cost", "future_transition_costs"]


@dataclass(frozen=True)
class FutureCost:
    value: np.ndarray  # (N,) float64: V[j], the future cost of being at frame j
    policy: np.ndarray  # (N,) int32: best next frame of each frame under V (min form)
    passes: int  # full sweeps of the (N, N) matrix it took
    converged: bool  # False when max_passes stopped it first
    residual: float  # largest Bellman change of the last pass, in cost units


@numba.njit(parallel=True, cache=True)
def _improve(costs, value, alpha, policy, best):
    """One pass: best[j] = min_k costs[j, k] + alpha V[k] and its argmin (keeps ties stable)."""
    n = costs.shape[0]
    for j in numba.prange(n):
        row = costs[j]
        current = policy[j]
        best_k = current
        best_q = np.inf
        if current >= 0:
            best_q = np.float64(row[current]) + alpha * value[current]
        for k in range(n):
            q = np.float64(row[k]) + alpha * value[k]
            if q < best_q and (best_q == np.inf or q < best_q - 1e-12 * (1.0 + abs(best_q))):
                best_q = q
                best_k = k
        policy[j] = best_k
        best[j] = best_q


@numba.njit(cache=True)
def _evaluate_policy(policy, step_cost, alpha, value):
    """Exact V for a fixed policy: V[j] = step_cost[j] + alpha V[policy[j]], in O(N)."""
    n = policy.shape[0]
    state = np.zeros(n, np.int8)  # 0 new, 1 on the current path, 2 solved
    path = np.empty(n, np.int64)
    position = np.full(n, -1, np.int64)
    for start in range(n):
        if state[start] == 2:
            continue
        length = 0
        node = start
        while state[node] == 0:
            state[node] = 1
            position[node] = length
            path[length] = node
            length += 1
            node = policy[node]
        stop = length
        if state[node] == 1:  # a new cycle: path[p:length]
            p = position[node]
            total = 0.0
            discount = 1.0
            for t in range(p, length):
                total += discount * step_cost[path[t]]
                discount *= alpha
            value[path[p]] = total / (1.0 - discount)
            state[path[p]] = 2
            for t in range(length - 1, p, -1):  # the cycle backwards from its closing node
                v_next = value[path[p]] if t == length - 1 else value[path[t + 1]]
                value[path[t]] = step_cost[path[t]] + alpha * v_next
                state[path[t]] = 2
            stop = p
        for t in range(stop - 1, -1, -1):
            nxt = policy[path[t]]
            value[path[t]] = step_cost[path[t]] + alpha * value[nxt]
            state[path[t]] = 2
        for t in range(length):
            position[path[t]] = -1


@numba.njit(cache=True)
def _expected_sweeps(costs, value, alpha, sigma, tolerance, max_passes):
    """In-place back-to-front sweeps of the expected form. Returns (passes, last change)."""
    n = costs.shape[0]
    q = np.empty(n, np.float64)
    change = np.inf
    passes = 0
    while passes < max_passes:
        passes += 1
        change = 0.0
        for j in range(n - 1, -1, -1):
            row = costs[j]
            qmin = np.inf
            for k in range(n):
                q[k] = np.float64(row[k]) + alpha * value[k]
                if q[k] < qmin:
                    qmin = q[k]
            wsum = 0.0
            acc = 0.0
            for k in range(n):
                if q[k] < np.inf:
                    w = np.exp(-(q[k] - qmin) / sigma)
                    wsum += w
                    acc += w * q[k]
            new = acc / wsum
            d = abs(new - value[j])
            if d > change:
                change = d
            value[j] = new
        if change < tolerance:
            break
    return passes, change


def _powered(costs: np.ndarray, p: float) -> np.ndarray:
    return costs if p == 1.0 else np.power(costs, np.float32(p))  # inf stays inf


def future_cost(costs: np.ndarray, *, alpha: float = 0.995, p: float = 1.0, form: str = "min",
                sigma: float | None = None, tolerance: float = 1e-5,
                max_passes: int = 2000) -> FutureCost:
    """Solve for V given (N, N) float32 transition costs (inf = forbidden, >= 0 otherwise).

    tolerance is relative to the mean finite non-zero cost^p. `sigma` (absolute, in cost^p
    units) is required for form="expected". Every frame must have at least one finite cost.
    """
    c = np.asarray(costs)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.dtype != np.float32:
        raise ValueError(f"costs must be (N, N) float32, got {c.shape} {c.dtype}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if form not in ("min", "expected"):
        raise ValueError(f"form must be 'min' or 'expected', got {form!r}")
    if form == "expected" and not (sigma and sigma > 0):
        raise ValueError("form='expected' needs sigma > 0")
    cp = _powered(c, float(p))
    finite = np.isfinite(cp)
    dead = np.flatnonzero(~finite.any(axis=1))
    if dead.size:
        raise ValueError(f"frames {dead[:10].tolist()} have no finite transition: no way on")
    positive = cp[finite & (cp > 0)]
    scale = float(positive.mean()) if positive.size else 1.0
    tol = tolerance * scale

    n = c.shape[0]
    value = np.zeros(n, np.float64)
    policy = np.full(n, -1, np.int64)
    best = np.empty(n, np.float64)
    passes, residual, converged = 0, np.inf, False
    while passes < max_passes:
        passes += 1
        _improve(cp, value, float(alpha), policy, best)
        residual = float(np.max(np.abs(best - value)))
        if residual < tol:
            converged = True
            value = best.copy()
            break
        step_cost = cp[np.arange(n), policy].astype(np.float64)
        _evaluate_policy(policy, step_cost, float(alpha), value)
    if form == "expected":
        remaining = max(1, max_passes - passes)
        extra, residual = _expected_sweeps(cp, value, float(alpha), float(sigma), tol, remaining)
        passes += int(extra)
        converged = residual < tol
    if not converged:
        warnings.warn(f"future cost stopped after {passes} passes with change {residual:.3g} "
                      f"> tolerance {tol:.3g}; raise max_passes", RuntimeWarning, stacklevel=2)
    return FutureCost(value.copy(), policy.astype(np.int32), passes, converged, residual)


def future_transition_costs(costs: np.ndarray, value: np.ndarray, *, alpha: float,
                            p: float = 1.0) -> np.ndarray:
    """F[i, j] = C[i, j]^p + alpha V[j] as (N, N) float32 (inf where forbidden)."""
    cp = _powered(np.asarray(costs, np.float32), float(p))
    return (cp + np.float32(alpha) * value.astype(np.float32)[None, :]).astype(np.float32)

import numpy as np
import pytest

from precompute import future_cost


def _random_costs(n, seed, forbid=0.3):
    rng = np.random.default_rng(seed)
    c = rng.uniform(0.5, 5.0, (n, n)).astype(np.float32)
    c[rng.random((n, n)) < forbid] = np.inf
    c[np.arange(n - 1), np.arange(1, n)] = 0.0  # natural steps
    c[n - 1, 0] = 3.0  # the last frame has a way on
    return c


def _reference_min(costs, alpha, p, iterations=20000):
    """The paper's matrix recurrence, iterated plainly: D2[i, j] = C^p[i, j] + alpha min_k D2[j, k]."""
    cp = np.where(np.isfinite(costs), costs.astype(np.float64) ** p, np.inf)
    d2 = cp.copy()
    for _ in range(iterations):
        new = cp + alpha * d2.min(axis=1)[None, :]
        finite = np.isfinite(new)
        if np.max(np.abs(new[finite] - d2[finite])) < 1e-12:
            break
        d2 = new
    return d2.min(axis=1), d2


def _reference_expected(costs, alpha, p, sigma, iterations=20000):
    cp = np.where(np.isfinite(costs), costs.astype(np.float64) ** p, np.inf)
    v = np.zeros(len(costs))
    for _ in range(iterations):
        q = cp + alpha * v[None, :]
        w = np.exp(-(q - q.min(axis=1, keepdims=True)) / sigma)
        new = (w * np.where(np.isfinite(q), q, 0)).sum(1) / w.sum(1)
        if np.max(np.abs(new - v)) < 1e-11:
            break
        v = new
    return v


@pytest.mark.parametrize("seed,p", [(0, 1.0), (1, 2.0), (2, 0.7)])
def test_min_form_matches_slow_reference(seed, p):
    costs = _random_costs(25, seed)
    solution = future_cost(costs, alpha=0.97, p=p, tolerance=1e-9)
    value, d2 = _reference_min(costs, 0.97, p)
    assert solution.converged
    assert np.allclose(solution.value, value, rtol=1e-5, atol=1e-6)
    # the converged policy picks a minimising next frame
    chosen = d2[np.arange(25), solution.policy]
    assert np.allclose(chosen, d2.min(axis=1), rtol=1e-6)


def test_expected_form_matches_slow_reference():
    costs = _random_costs(20, 5)
    solution = future_cost(costs, alpha=0.95, form="expected", sigma=0.8, tolerance=1e-10)
    assert solution.converged
    assert np.allclose(solution.value, _reference_expected(costs, 0.95, 1.0, 0.8), rtol=1e-5, atol=1e-6)


def test_high_alpha_converges_in_few_passes_and_reports_them():
    costs = _random_costs(300, 3)
    solution = future_cost(costs, alpha=0.995, tolerance=1e-6)
    assert solution.converged and 1 <= solution.passes < 50


def test_stopping_test_is_not_inverted():
    # a chain whose only way on from the end is a costly jump back: V must be > 0 everywhere,
    # which a solver that stops after one pass (V = 0 start) would miss
    n = 40
    costs = np.full((n, n), np.inf, np.float32)
    costs[np.arange(n - 1), np.arange(1, n)] = 0.0
    costs[n - 1, 0] = 10.0
    solution = future_cost(costs, alpha=0.99, tolerance=1e-9)
    cycle_value = 10.0 / (1 - 0.99 ** n)
    assert np.isclose(solution.value[n - 1], cycle_value, rtol=1e-6)
    assert np.isclose(solution.value[0], 0.99 ** (n - 1) * cycle_value, rtol=1e-6)


def test_a_frame_with_no_way_on_is_refused():
    costs = _random_costs(10, 0)
    costs[4] = np.inf
    with pytest.raises(ValueError, match="no way on"):
        future_cost(costs)

"""How well could ANY in-between method do on the procedural candle? An upper bound on PSNR.

The candle's flicker has a white part: every frame draws a new standard normal sample
(`assets.candle.candle_processes`), and the flicker a frame is drawn with is the mean of the
last two. Given two endpoint frames, the white samples strictly between them are unknowable, so
no method can predict the real in-between frame exactly. This script scores the best possible
guess (the minimum mean squared error one) of an oracle that knows MORE than any method:

- the sway, the lean and the smooth part of the flicker at every frame, exactly;
- the endpoints' flickers exactly (which is all a method can learn about the white samples from
  the two endpoint frames).

The white part of the in-between frame's flicker is then Gaussian with a known conditional mean
and variance; the oracle's guess is the expected frame under it (Gauss-Hermite quadrature over
the renderer, uint8 rounding included), area-resized to the model size as the evaluation does.
Its PSNR (pooled MSE over the same held-out tuples as `benchmarks.bench_generative`) bounds what
a crossfade, a morph or a trained network can reach, up to the sampling noise of the finitely
many scored frames (the script prints a paired bootstrap interval).

That oracle knows the whole smooth processes, which two frames do not show. The second, tighter
figure is the Bayes guess from the endpoints alone: a candle frame is a function of two numbers,
the flame's bend (0.35 sway + 0.25 lean) and the flicker; both are stationary Gaussian processes
(linear filters of white noise), so given their values at both endpoints (read exactly, which
flatters the guess) the in-between values are Gaussian with a mean and variance that follow from
the generator's own autocovariances (estimated over 300 seeds) and the processes' levels over
the training frames, and the guess is the expected frame over them. No method that sees only the two endpoint frames can do better on average
(up to the Gaussian approximation of the normalised processes and the quadrature).

    .venv/bin/python -m benchmarks.bound_candle [--frames 400] [--nodes 10] [--endpoint-nodes 6]

About 12 minutes on one core (46 renders of the full-size candle per scored frame).
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from benchmarks._util import save


def _conditional_white(k: int, m: int) -> tuple[np.ndarray, float]:
    """The white part of flicker[s + m] given the endpoints' white parts (at s and s + k).

    With e[j] = w[j] + w[j-1] (w iid standard normal), flicker's white part is
    FLICKER_WHITE / 2 * e[j]. Returns (weights (2,), variance) of e[s + m] given
    (e[s], e[s + k]): conditional mean = weights . (e[s], e[s + k])."""
    def cov(i, j):
        return {0: 2.0, 1: 1.0}.get(abs(i - j), 0.0)

    observed = [0, k]
    s22 = np.array([[cov(i, j) for j in observed] for i in observed])
    s12 = np.array([cov(m, j) for j in observed])
    weights = np.linalg.solve(s22, s12)
    return weights, float(cov(m, m) - s12 @ weights)


def _autocovariances(max_lag: int, seeds: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Empirical autocovariances (lags 0..max_lag) of the two quantities a candle frame is drawn
    from: the bend B = 0.35 sway + 0.25 lean and the flicker F, over many seeds of the generator."""
    from assets.candle import candle_processes, flicker_from

    bends, flickers = [], []
    for seed in range(10_000, 10_000 + seeds):
        p = candle_processes(600, seed)
        bends.append(0.35 * p["sway"] + 0.25 * p["lean"])
        flickers.append(flicker_from(p["flicker_smooth"], p["flicker_white"])[1:])  # [0] has no t-1

    def autocov(series):
        x = np.stack([v - v.mean() for v in series])  # (seeds, T)
        return np.array([np.mean(x[:, :x.shape[1] - lag] * x[:, lag:]) for lag in range(max_lag + 1)])

    return autocov(bends), autocov(flickers)


def _condition(cov: np.ndarray, k: int, m: int, observed: tuple[float, float],
               level: float) -> tuple[float, float]:
    """Mean and variance of a stationary Gaussian process (mean `level`) at m given its values at
    0 and k."""
    s22 = np.array([[cov[0], cov[k]], [cov[k], cov[0]]])
    s12 = np.array([cov[m], cov[k - m]])
    weights = np.linalg.solve(s22, s12)
    return float(level + weights @ (np.array(observed) - level)), float(cov[0] - s12 @ weights)


def main(argv=None) -> int:
    from assets.candle import (CANDLE_SIZE, FLICKER_WHITE, candle_frames, candle_processes, candle_renderer,
                               flicker_from)
    from tqdm.auto import tqdm

    from precompute import generative

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400, help="frames of the clip (bench_generative uses 400)")
    parser.add_argument("--nodes", type=int, default=10, help="Gauss-Hermite nodes of the oracle's expectation")
    parser.add_argument("--max-gap", type=int, default=6, help="longest tuple gap scored (as bench_generative)")
    parser.add_argument("--endpoint-nodes", type=int, default=6, help="Gauss-Hermite nodes per process, endpoint bound")
    args = parser.parse_args(argv)
    if not 30 <= args.frames <= 600:
        parser.error(f"--frames must be 30..600 (the candle has 600 frames), got {args.frames}")
    if args.max_gap < 2 or args.nodes < 1 or args.endpoint_nodes < 1:
        parser.error("--max-gap must be at least 2 and the node counts at least 1")

    whole = candle_frames()  # the processes are drawn for the whole clip, then cut as the bench does
    frames = whole[:args.frames]
    full = candle_processes(len(whole))
    flicker = flicker_from(full["flicker_smooth"], full["flicker_white"])
    smooth_part = flicker_from(full["flicker_smooth"], np.zeros_like(full["flicker_white"]))
    white_pairs = np.convolve(full["flicker_white"], np.ones(2), mode="same")  # e[j] = w[j] + w[j-1]
    assert np.allclose(flicker, smooth_part + FLICKER_WHITE / 2 * white_pairs)
    render = candle_renderer(CANDLE_SIZE)
    holdout = generative.holdout_range(len(frames))
    size = generative.model_size(frames.shape[1], frames.shape[2], model_width=generative.GenerativeConfig().width)
    small = generative.resize_frames(frames[holdout[0]:holdout[1]], size).astype(np.float64)
    nodes, node_weights = np.polynomial.hermite_e.hermegauss(args.nodes)  # for a standard normal
    node_weights = node_weights / node_weights.sum()

    cases = [(s, k, m) for k in range(2, args.max_gap + 1) for s in range(0, len(small) - k) for m in range(1, k)]
    if len(cases) > 300:  # as evaluate_inbetweens
        cases = [cases[i] for i in np.linspace(0, len(cases) - 1, 300).round().astype(int)]
    errors = {"oracle": [], "endpoints": [], "crossfade": [], "morph_dis": [], "morph_farneback": []}
    bend_cov, flicker_cov = _autocovariances(args.max_gap)
    bend = 0.35 * full["sway"] + 0.25 * full["lean"]  # all a frame shows of the sway and the lean
    # The processes' levels over the training frames (a model trained on them could learn those)
    bend_level, flicker_level = float(bend[:holdout[0]].mean()), float(flicker[:holdout[0]].mean())
    grid = [(x, wx) for x, wx in zip(*np.polynomial.hermite_e.hermegauss(args.endpoint_nodes))]
    grid_weights_total = sum(wx for _, wx in grid)
    for s, k, m in tqdm(cases, desc="bound", unit="frame"):
        g = holdout[0] + s  # global frame index of the first endpoint
        weights, variance = _conditional_white(k, m)
        mean_e = weights @ np.array([white_pairs[g], white_pairs[g + k]])
        expected = np.zeros(frames.shape[1:], np.float64)
        for node, weight in zip(nodes, node_weights):
            e = mean_e + math.sqrt(max(variance, 0.0)) * node
            value = smooth_part[g + m] + FLICKER_WHITE / 2 * e
            expected += weight * render(full["sway"][g + m], full["lean"][g + m], value)
        guess = generative.resize_frames(expected.astype(np.float32)[None], size)[0].astype(np.float64)
        truth = small[s + m]
        errors["oracle"].append(np.mean((guess - truth) ** 2))
        # The Bayes guess from the endpoints alone: the bend and the flicker at s + m given their
        # values at both endpoints (Gaussian with the generator's own autocovariances), and the
        # expected frame over both (independent processes).
        mean_b, var_b = _condition(bend_cov, k, m, (bend[g], bend[g + k]), bend_level)
        mean_f, var_f = _condition(flicker_cov, k, m, (flicker[g], flicker[g + k]), flicker_level)
        expected = np.zeros(frames.shape[1:], np.float64)
        for xb, wb in grid:
            for xf, wf in grid:
                value_b = mean_b + math.sqrt(max(var_b, 0.0)) * xb
                value_f = mean_f + math.sqrt(max(var_f, 0.0)) * xf
                expected += wb * wf * render(value_b / 0.35, 0.0, value_f)  # only the bend matters
        expected /= grid_weights_total ** 2
        endpoint_guess = generative.resize_frames(expected.astype(np.float32)[None], size)[0].astype(np.float64)
        errors["endpoints"].append(np.mean((endpoint_guess - truth) ** 2))
        a, b, t = small[s].astype(np.uint8), small[s + k].astype(np.uint8), m / k
        errors["crossfade"].append(np.mean((generative.crossfade(a, b, [t])[0] - truth) ** 2))
        for method in ("dis", "farneback"):
            errors[f"morph_{method}"].append(np.mean((generative.flow_morph(a, b, [t], method=method)[0] - truth) ** 2))

    def psnr(mse):
        return 10 * math.log10(255.0 ** 2 / max(mse, 1e-10))

    result = {method: round(psnr(float(np.mean(values))), 3) for method, values in errors.items()}
    result["morph"] = max(result["morph_dis"], result["morph_farneback"])  # as bench_generative
    # Paired bootstrap over the scored frames: each resample scores every method on the same frames.
    rng = np.random.default_rng(0)
    table = {name: np.array(values) for name, values in errors.items()}
    gains = {"oracle": [], "endpoints": []}
    for _ in range(2000):
        pick = rng.integers(0, len(cases), len(cases))
        pooled = {name: psnr(float(np.mean(values[pick]))) for name, values in table.items()}
        baseline = max(pooled["crossfade"], pooled["morph_dis"], pooled["morph_farneback"])
        for name in gains:
            gains[name].append(pooled[name] - baseline)
    for name, values in gains.items():
        result[f"{name}_gain_95_interval"] = [round(float(np.percentile(values, 2.5)), 3),
                                              round(float(np.percentile(values, 97.5)), 3)]
    result["squared_errors"] = {name: [round(float(v), 4) for v in values] for name, values in errors.items()}
    best = max(result["crossfade"], result["morph"])
    result["frames_scored"] = len(cases)
    result["oracle_gain_over_better_baseline_db"] = round(result["oracle"] - best, 3)
    result["endpoints_gain_over_better_baseline_db"] = round(result["endpoints"] - best, 3)
    print(f"procedural candle, {len(cases)} held-out in-between frames at {size[1]}x{size[0]}:")
    print(f"  crossfade {result['crossfade']:.2f} dB, morph {result['morph']:.2f} dB (DIS {result['morph_dis']:.2f}, "
          f"Farneback {result['morph_farneback']:.2f})")
    print(f"  oracle bound {result['oracle']:.2f} dB: at most {result['oracle_gain_over_better_baseline_db']:+.2f} dB "
          f"over the better baseline (paired 95% bootstrap {result['oracle_gain_95_interval']})")
    print(f"  Bayes guess from the endpoints' bend and flicker {result['endpoints']:.2f} dB: "
          f"{result['endpoints_gain_over_better_baseline_db']:+.2f} dB over the better baseline "
          f"(paired 95% bootstrap {result['endpoints_gain_95_interval']})")
    print(f"saved {save('bound_candle', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

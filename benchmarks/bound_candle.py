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
many scored frames (the script prints that too).

    .venv/bin/python -m benchmarks.bound_candle [--frames 400] [--nodes 24]
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from benchmarks._util import save


def conditional_white(k: int, m: int) -> tuple[np.ndarray, float]:
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


def main(argv=None) -> int:
    from assets.candle import (CANDLE_SIZE, FLICKER_WHITE, candle_frames, candle_processes, candle_renderer,
                               flicker_from)
    from precompute import generative

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=400, help="frames of the clip (bench_generative uses 400)")
    parser.add_argument("--nodes", type=int, default=24, help="Gauss-Hermite nodes of the expectation")
    parser.add_argument("--max-gap", type=int, default=6)
    args = parser.parse_args(argv)

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
    errors = {"oracle": [], "crossfade": [], "morph_dis": [], "morph_farneback": []}
    for s, k, m in cases:
        g = holdout[0] + s  # global frame index of the first endpoint
        weights, variance = conditional_white(k, m)
        mean_e = weights @ np.array([white_pairs[g], white_pairs[g + k]])
        expected = np.zeros(frames.shape[1:], np.float64)
        for node, weight in zip(nodes, node_weights):
            e = mean_e + math.sqrt(max(variance, 0.0)) * node
            value = smooth_part[g + m] + FLICKER_WHITE / 2 * e
            expected += weight * render(full["sway"][g + m], full["lean"][g + m], value)
        guess = generative.resize_frames(expected.astype(np.float32)[None], size)[0].astype(np.float64)
        truth = small[s + m]
        a, b, t = small[s].astype(np.uint8), small[s + k].astype(np.uint8), m / k
        errors["oracle"].append(np.mean((guess - truth) ** 2))
        errors["crossfade"].append(np.mean((generative.crossfade(a, b, [t])[0] - truth) ** 2))
        for method in ("dis", "farneback"):
            errors[f"morph_{method}"].append(np.mean((generative.flow_morph(a, b, [t], method=method)[0] - truth) ** 2))

    def psnr(mse):
        return 10 * math.log10(255.0 ** 2 / max(mse, 1e-10))

    result = {method: round(psnr(float(np.mean(values))), 3) for method, values in errors.items()}
    result["morph"] = max(result["morph_dis"], result["morph_farneback"])  # as bench_generative
    oracle = np.array(errors["oracle"])
    rng = np.random.default_rng(0)
    resampled = [psnr(float(np.mean(rng.choice(oracle, len(oracle))))) for _ in range(2000)]
    result["oracle_95_interval"] = [round(float(np.percentile(resampled, 2.5)), 3),
                                    round(float(np.percentile(resampled, 97.5)), 3)]
    best = max(result["crossfade"], result["morph"])
    result["frames_scored"] = len(cases)
    result["oracle_gain_over_better_baseline_db"] = round(result["oracle"] - best, 3)
    print(f"procedural candle, {len(cases)} held-out in-between frames at {size[1]}x{size[0]}:")
    print(f"  crossfade {result['crossfade']:.2f} dB, morph {result['morph']:.2f} dB (DIS {result['morph_dis']:.2f}, "
          f"Farneback {result['morph_farneback']:.2f})")
    print(f"  oracle bound {result['oracle']:.2f} dB (95% bootstrap {result['oracle_95_interval']}): "
          f"at most {result['oracle_gain_over_better_baseline_db']:+.2f} dB over the better baseline")
    print(f"saved {save('bound_candle', result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

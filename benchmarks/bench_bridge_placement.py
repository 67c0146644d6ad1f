"""Where a bridge sits around its jump, and what that costs before any model runs (issue 13).

A bridge of jump i -> j replaces the K frames *after* the jump (precompute/bridges.py: frame n is
made between the streams i + n and j - 1 + n, n = 1..K), while play's crossfade and morph are
centred on it (n = 1 - K/2 .. K/2). The analysis picks i -> j because i + 1 looks like j, so the
two streams are most alike at the jump and drift apart after it: the bridge's model starts from
endpoints farther apart than the morph's. This bench draws the same flow morph at the bridge's
stream pairs ("after") and at the centred ones ("centred") for each jump `framechain bridges`
would bridge, and prints the figures `--transitions auto` stores (precompute.generative_measures.
jump_measures: the worst 4x4-cell nearest-real distance of the K frames, the largest step into,
through and out of them), median and 95th percentile over the jumps. No training: the morph is
where every generator here starts (the diffusion model noises it, the U-Nets refine it).

    .venv/bin/python -m benchmarks.bench_bridge_placement [--clips fish,candle,clock] [--jumps 120]

Clips: ../shared/clips (skipped when missing), analysed into a temporary cache.
Results: benchmarks/results/bench_bridge_placement.json.
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from benchmarks._util import save
from benchmarks.bench_generative_goals import CLIPS


def placement_figures(analysis, *, max_jumps: int, frames_per_bridge: int = 4) -> dict:
    """{"after": {...}, "centred": {...}}: the morph's stored measures at both placements."""
    from precompute import bridges, generative, generative_measures as measures

    frames = analysis.frames
    n_frames = int(analysis.n_frames)
    sources, targets = bridges.select_jumps(analysis.link_offsets, analysis.link_targets,
                                            analysis.link_probabilities, analysis.loop_sources,
                                            analysis.loop_targets)
    size = generative.model_size(frames.shape[1], frames.shape[2], model_width=bridges.MEASURE_WIDTH)
    real = measures.features(np.asarray(frames))
    k, half = frames_per_bridge, frames_per_bridge // 2
    times = bridges.bridge_times(k)
    placements = {"after": np.arange(1, k + 1), "centred": np.arange(1 - half, k - half + 1)}
    figures = {name: [] for name in placements}
    used = 0
    for i, j in zip(sources, targets):
        i, j = int(i), int(j)
        if i - half < 0 or j - 1 - half < 0 or max(i, j) + k + 1 >= n_frames:
            continue  # both placements need their streams inside the clip
        for name, steps in placements.items():
            small = lambda index: generative.resize_frames(np.asarray(frames[index]), size)  # noqa: E731
            outgoing, incoming = small(i + steps), small(j - 1 + steps)
            morph = np.stack([generative.flow_morph(outgoing[m], incoming[m], times[m:m + 1])[0]
                              for m in range(k)])
            shown = np.concatenate([morph, small(np.array([j + steps[-1]]))])  # then the exit frame
            entry = small(np.array([i + steps[0] - 1]))  # the frame before the first replaced one
            figures[name].append(measures.jump_measures({"morph": shown[None]}, entry, real)["morph"][0])
        used += 1
        if used >= max_jumps:
            break
    out = {}
    for name, rows in figures.items():
        rows = np.array(rows).reshape(-1, 2)
        out[name] = {"jumps": len(rows),
                     "worst_local_median": round(float(np.median(rows[:, 0])), 3) if len(rows) else None,
                     "worst_local_p95": round(float(np.percentile(rows[:, 0], 95)), 3) if len(rows) else None,
                     "largest_step_median": round(float(np.median(rows[:, 1])), 3) if len(rows) else None,
                     "largest_step_p95": round(float(np.percentile(rows[:, 1], 95)), 3) if len(rows) else None}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clips", default="fish,candle,clock", help="comma-separated names of CLIPS")
    parser.add_argument("--jumps", type=int, default=120, help="jumps per clip at most (default 120)")
    args = parser.parse_args(argv)
    results = {"load_average": os.getloadavg(), "clips": {}}
    with tempfile.TemporaryDirectory(prefix="framechain-placement-") as temporary:
        os.environ["FRAMECHAIN_CACHE"] = str(Path(temporary) / "cache")
        from engine.commands._common import open_analysis

        for name in args.clips.split(","):
            clip = CLIPS[name]
            if not clip.exists():
                print(f"{name}: {clip} missing, skipped")
                continue
            analysis = open_analysis(str(clip), None, progress=False)
            figures = placement_figures(analysis, max_jumps=args.jumps)
            results["clips"][name] = figures
            print(f"{name}: the morph at the bridge's pairs (after the jump) against centred on it, "
                  f"{figures['after']['jumps']} jumps")
            for placement, f in figures.items():
                print(f"  {placement:<8} worst local median {f['worst_local_median']} p95 {f['worst_local_p95']}"
                      f" | largest step median {f['largest_step_median']} p95 {f['largest_step_p95']}")
    save("bench_bridge_placement", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

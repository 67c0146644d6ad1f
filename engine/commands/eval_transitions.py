"""`framechain eval-transitions CLIP`: how close each way of rendering a jump comes to real frames.

1. In-betweens: the last tenth of the clip is held out; the in-between model (issue 6) trains on
   the rest for at most --train-minutes; on every tuple (s, s+k), 2 <= k <= max gap, inside the
   held-out tenth, each method guesses the real frames between and is scored by PSNR (dB, the
   pooled MSE of all guessed frames, at the model size): cut, crossfade, flow morph (DIS and
   Farneback; "morph" is the better of the two) and generated.
2. Jumps: at the analysis' real jumps (the ones play and loop export use), K-frame bridges are
   made by the crossfade, the morph and the model; each bridge frame's distance to its nearest
   real frame is given in units of the clip's median natural step (RMS at the analysis feature
   width, the measure of ../shared/tools/quality.py). Real frames are at distance 0; a ghost or a
   tear is far from every real frame.

Prints a table and writes `{"psnr": {...}, "jumps": {...}, ...}` with -o OUT.json (or --json).
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

NAME = "eval-transitions"
HELP = "score cut / crossfade / flow morph / generated in-betweens on held-out real frames"


def add_arguments(parser) -> None:
    parser.add_argument("clip", help="video file, image folder or analysis folder")
    parser.add_argument("--train-minutes", type=float, default=5.0,
                        help="training budget of the in-between model (default 5)")
    from engine.commands._common import add_analysis_arguments, add_device_argument, add_output_arguments

    add_output_arguments(parser, aliases=("--json",), metavar="OUT.json",
                         help="write the figures to OUT.json as JSON")
    parser.add_argument("--max-frames", type=int, default=600,
                        help="use at most this many frames from the start of the clip (default 600)")
    parser.add_argument("--width", type=int, default=None, help="model width in px (default 128; 256 on CUDA)")
    parser.add_argument("--bridge-frames", type=int, default=4, help="frames per bridge K (default 4)")
    parser.add_argument("--max-jumps", type=int, default=100, help="jumps scored at most (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    add_device_argument(parser, default="auto")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_analysis_arguments(parser)


def _features(frames: np.ndarray, width: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, d) float32 area-downscaled to `width` px (quality.py's measure)."""
    import cv2

    height = max(1, round(frames.shape[1] * width / frames.shape[2]))
    small = [cv2.resize(np.asarray(f), (width, height), interpolation=cv2.INTER_AREA) for f in frames]
    return np.stack(small).reshape(len(small), -1).astype(np.float32)  # (T, h*w*3)


def _nearest_distances(candidates: np.ndarray, real: np.ndarray) -> np.ndarray:
    """RMS distance of each candidate row to its nearest real row: (n, d), (T, d) -> (n,)."""
    real64 = real.astype(np.float64)
    cand64 = candidates.astype(np.float64)
    mean = real64.mean(axis=0)  # centre first: |a|^2 + |b|^2 - 2ab cancels badly on near frames
    r, c = real64 - mean, cand64 - mean
    squared = (c * c).sum(1)[:, None] + (r * r).sum(1)[None, :] - 2 * c @ r.T  # (n, T)
    return np.sqrt(np.maximum(squared.min(axis=1), 0) / real.shape[1])


def jump_bridge_distances(analysis, model, *, frames_per_bridge: int = 4, max_jumps: int = 100,
                          progress: bool = True) -> dict:
    """Distance of bridge frames to the nearest real frame, in median natural steps, for the
    crossfade (as the player blends the two streams), the morph and the model, at the analysis'
    jumps (precompute.bridges.select_jumps). Returns {method: {"mean", "median", "p90"}, "jumps": n}."""
    from tqdm.auto import tqdm

    from precompute import bridges, generative

    frames = analysis.frames
    n = int(analysis.n_frames)
    sources, targets = bridges.select_jumps(analysis.link_offsets, analysis.link_targets,
                                            analysis.link_probabilities, analysis.loop_sources,
                                            analysis.loop_targets)
    sources, targets, exits, offsets = bridges.bridge_plan(
        sources, targets, n_frames=n, frames_per_bridge=frames_per_bridge, frame_bytes=1,
        max_store_bytes=1 << 62)
    sources, targets, exits = sources[:max_jumps], targets[:max_jumps], exits[:max_jumps]
    feature_width = int(analysis.config.feature_width)
    real = _features(frames, feature_width)  # (N, d)
    steps = np.asarray(analysis.natural_steps, np.float64)
    median_step = float(np.median(steps[steps > 0])) if np.any(steps > 0) else 1.0
    made = {"crossfade": [], "morph": [], "generated": []}
    for i, j, e in tqdm(list(zip(sources, targets, exits)), desc="jump bridges", disable=not progress):
        k = int(e - j)
        times = np.arange(1, k + 1) / (k + 1)
        a, z = generative.resize_frames(np.stack([frames[i], frames[e]]), model.size)
        # the player's crossfade: stream i+n fades out while stream j-1+n fades in
        stream_out = generative.resize_frames(np.asarray(frames[np.minimum(i + np.arange(1, k + 1), n - 1)]), model.size)
        stream_in = generative.resize_frames(np.asarray(frames[j - 1 + np.arange(1, k + 1)]), model.size)
        weights = times[:, None, None, None]
        made["crossfade"].append(((1 - weights) * stream_out + weights * stream_in + 0.5).astype(np.uint8))
        made["morph"].append(generative.flow_morph(a, z, times, method=model.config.flow))
        made["generated"].append(model.interpolate(a, z, times))
    result = {"jumps": int(len(sources)), "median_natural_step": round(median_step, 4)}
    for method, groups in made.items():
        if not groups:
            continue
        distances = _nearest_distances(_features(np.concatenate(groups), feature_width), real) / median_step
        result[method] = {"mean": round(float(distances.mean()), 3), "median": round(float(np.median(distances)), 3),
                          "p90": round(float(np.percentile(distances, 90)), 3)}
    return result


def evaluate_clip(analysis, *, train_minutes: float = 5.0, max_frames: int = 600, width: int | None = None,
                  frames_per_bridge: int = 4, max_jumps: int = 100, seed: int = 0, device: str = "auto",
                  progress: bool = True) -> dict:
    """Both evaluations on one analysed clip (see the module docstring). Returns the JSON dict."""
    from precompute import generative

    frames = np.asarray(analysis.frames[:max_frames])  # (T, H, W, 3) uint8
    base = generative.default_config(device)
    config = dataclasses.replace(base, time_limit_s=train_minutes * 60.0, seed=seed,
                                 max_gap=max(base.max_gap, frames_per_bridge + 1),
                                 **({"width": width} if width else {}))
    holdout = generative.holdout_range(len(frames))
    started = time.perf_counter()
    model = generative.train_model(frames, config=config, holdout=holdout, progress=progress)
    train_seconds = time.perf_counter() - started
    scores = generative.evaluate_inbetweens(frames, holdout, model=model, size=model.size,
                                            max_gap=config.max_gap)
    jumps = jump_bridge_distances(analysis, model, frames_per_bridge=frames_per_bridge,
                                  max_jumps=max_jumps, progress=progress)
    psnr = scores["psnr"]
    best_baseline = max(psnr["crossfade"], psnr["morph"])
    return {
        "psnr": psnr,
        "generated_minus_best_baseline_db": round(psnr["generated"] - best_baseline, 3),
        "ms_per_frame": scores["ms_per_frame"],
        "frames_scored": scores["frames_scored"],
        "holdout": list(holdout),
        "frames_used": len(frames),
        "model_size": list(model.size),
        "train_seconds": round(train_seconds, 2),
        "training": model.record,
        "config": dataclasses.asdict(config),
        "jumps": jumps,
    }


def run(args) -> int:
    from engine.commands._common import open_analysis, output_plan

    output_plan(args, args.clip).add("-o", args.output, suffixes=(".json",)).check()
    analysis = open_analysis(args.clip, args, progress=not args.quiet)
    result = evaluate_clip(analysis, train_minutes=args.train_minutes, max_frames=args.max_frames,
                           width=args.width, frames_per_bridge=args.bridge_frames, max_jumps=args.max_jumps,
                           seed=args.seed, device=args.device, progress=not args.quiet)
    result["clip"] = str(args.clip)
    psnr = result["psnr"]
    print(f"{args.clip}: {result['frames_scored']} held-out in-between frames, model {result['model_size'][1]}x"
          f"{result['model_size'][0]}, trained {result['train_seconds']:.0f} s "
          f"({result['training']['steps_run']} steps)")
    print("PSNR dB   " + "  ".join(f"{name} {psnr[name]:.2f}" for name in
                                    ("cut", "crossfade", "morph_dis", "morph_farneback", "generated")))
    print(f"generated - best of crossfade/morph: {result['generated_minus_best_baseline_db']:+.2f} dB")
    jumps = result["jumps"]
    if jumps.get("jumps"):
        print(f"bridge frames at {jumps['jumps']} jumps, distance to the nearest real frame "
              "(median natural steps, mean/median): " + "  ".join(
                  f"{m} {jumps[m]['mean']:.2f}/{jumps[m]['median']:.2f}"
                  for m in ("crossfade", "morph", "generated") if m in jumps))
    if args.output:
        from precompute.files import write_json

        result["format"] = "framechain-eval-transitions"
        write_json(args.output, result, what="-o", indent=1)
    return 0

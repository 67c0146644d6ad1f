"""`framechain eval-transitions CLIP`: how close each way of rendering a jump comes to real frames.

1. In-betweens: the last tenth of the clip is held out; the in-between model (issue 6) trains on
   the rest for at most --train-minutes; on every tuple (s, s+k), 2 <= k <= max gap, inside the
   held-out tenth, each method guesses the real frames between and is scored by PSNR (dB, the
   pooled MSE of all guessed frames, at the model size): cut, crossfade, flow morph (DIS and
   Farneback; "morph" is the better of the two) and each generator (`--generator`: regression,
   gan, diffusion; "generated" is the first one's figure, as before issue 13).
2. Jumps: at the analysis' real jumps (the ones play and loop export use), K-frame transitions
   are made as play renders them by the crossfade, the morph and each model, and scored by
   precompute.generative_measures (the definitions of ../shared/tools/quality.py `realism`):
   "realism": per method the median and 95th percentile distance of each transition frame to its
   nearest real frame, the 95th percentile of the worst 4x4-grid cell's distance, and the 95th
   percentile step from each transition frame to the next, in median natural steps; "two_sample":
   the held-out accuracy of a small CNN telling real frames from the method's (0.5: alike);
   "jumps": the older summary (mean / median / p90 nearest-real distance).

Prints a table and writes `{"psnr": {...}, "realism": {...}, "two_sample": {...}, "jumps": {...},
...}` with -o OUT.json (or --json).
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
    from precompute.generative_nets import GENERATORS

    parser.add_argument("--generator", action="append", choices=GENERATORS, default=None,
                        help="in-between model(s) to train and score: regression, gan or diffusion; "
                             "give it more than once for several (default: all three, "
                             "--train-minutes each)")
    add_device_argument(parser, default="auto")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_analysis_arguments(parser)


def jump_bridges(analysis, models: dict, *, frames_per_bridge: int = 4, max_jumps: int = 100,
                 size: tuple[int, int], progress: bool = True) -> dict:
    """The transitions of the analysis' jumps (precompute.bridges.select_jumps) as play renders
    them, per method, at the model size `size`: {method: [(K + 1, h, w, 3) uint8, ...]}, each
    the K in-between frames then the frame shown after them (j + K); under "_streams" the real
    frames each was made from ((2K, h, w, 3): i+1..i+K and j..j+K-1).

    crossfade: as the player blends the two streams (stream i+n fades out while j-1+n fades in);
    morph: the DIS flow morph between the two streams; each of `models` ({name: GenerativeModel}):
    its bridge, as `framechain bridges` makes it (between the two streams, at the model size)."""
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
    made = {"crossfade": [], "morph": [], **{name: [] for name in models}}
    streams = []  # the real frames each transition is made from (the two-sample test's real side)
    for i, j, e in tqdm(list(zip(sources, targets, exits)), desc="jump bridges", disable=not progress):
        k = int(e - j)
        times = bridges.bridge_times(k)  # the crossfade's weights, as play draws each method
        a, z = generative.resize_frames(np.stack([frames[i], frames[e]]), size)
        stream_out = generative.resize_frames(np.asarray(frames[np.minimum(i + np.arange(1, k + 1), n - 1)]), size)
        stream_in = generative.resize_frames(np.asarray(frames[j - 1 + np.arange(1, k + 1)]), size)
        weights = times[:, None, None, None]
        streams.append(np.concatenate([stream_out, stream_in]))
        fade = ((1 - weights) * stream_out + weights * stream_in + 0.5).astype(np.uint8)
        made["crossfade"].append(np.concatenate([fade, z[None]]))
        # the morph and the models between the two streams, as the player's morph and the bridges
        # (precompute.bridges.stream_endpoints) draw them
        made["morph"].append(np.concatenate(
            [np.stack([generative.flow_morph(stream_out[m], stream_in[m], times[m:m + 1])[0] for m in range(k)]), z[None]]))
        for name, model in models.items():  # as `framechain bridges` makes them (bridges.bridge_frame)
            made[name].append(np.concatenate(
                [np.stack([bridges.bridge_frame(model, stream_out[m], stream_in[m], float(times[m]))
                           for m in range(k)]),
                 z[None]]))
    made["_streams"] = streams
    return made


def transition_measures(analysis, made: dict, *, size: tuple[int, int], seed: int = 0) -> dict:
    """The "jumps", "realism" and "two_sample" blocks of the evaluation from `jump_bridges`' output."""
    from precompute import generative, generative_measures as measures

    frames = analysis.frames
    real_small = measures.features(frames)  # the clip at 64 px wide (quality.py's realism)
    result = {"jumps": {"jumps": len(made["crossfade"])}, "realism": {}, "two_sample": {}}
    if not made["crossfade"]:
        return result
    median, _ = measures.natural_medians(real_small)
    result["jumps"]["median_natural_step"] = round(median, 4)
    # The two-sample test's real side: the real frames the transitions were made from (the two
    # streams), rendered the same way (at the model size). Real frames drawn from the whole clip
    # let the classifier tell *where* in the clip a frame is (jumps gather in some stretches):
    # 95% for every method on the fish, the morph included.
    streams = made.pop("_streams", [])
    real = np.concatenate(streams) if streams else generative.resize_frames(np.asarray(frames[:8]), size)
    for method, sequences in made.items():
        figures = measures.realism(sequences, frames, real_small=real_small)
        result["realism"][method] = figures
        near = measures.nearest_real(
            np.concatenate([measures.features(s[:-1], real_small.shape[2]) for s in sequences]), real_small) / median
        result["jumps"][method] = {"mean": round(float(near.mean()), 3), "median": round(float(np.median(near)), 3),
                                   "p90": round(float(np.percentile(near, 90)), 3)}
        result["two_sample"][method] = measures.two_sample_accuracy(
            real, np.concatenate([s[:-1] for s in sequences]), seed=seed)
    return result


def evaluate_clip(analysis, *, train_minutes: float = 5.0, max_frames: int = 600, width: int | None = None,
                  frames_per_bridge: int = 4, max_jumps: int = 100, seed: int = 0, device: str = "auto",
                  generators=("regression",), progress: bool = True) -> dict:
    """Both evaluations on one analysed clip (see the module docstring), one model trained per
    generator (`train_minutes` each). Returns the JSON dict."""
    from precompute import generative

    frames = np.asarray(analysis.frames[:max_frames])  # (T, H, W, 3) uint8
    base = generative.default_config(device)
    holdout = generative.holdout_range(len(frames))
    models, configs, seconds, scores = {}, {}, {}, {}
    for generator in generators:
        config = dataclasses.replace(base, time_limit_s=train_minutes * 60.0, seed=seed, generator=generator,
                                     max_gap=max(base.max_gap, frames_per_bridge + 1),
                                     **({"width": width} if width else {}))
        started = time.perf_counter()
        models[generator] = generative.train_model(frames, config=config, holdout=holdout, progress=progress)
        seconds[generator] = round(time.perf_counter() - started, 2)
        configs[generator] = dataclasses.asdict(config)
        scores[generator] = generative.evaluate_inbetweens(frames, holdout, model=models[generator],
                                                           size=models[generator].size, max_gap=config.max_gap)
    first = generators[0]
    model = models[first]
    psnr = dict(scores[first]["psnr"])  # "generated" is the first generator's, as before
    ms_per_frame = dict(scores[first]["ms_per_frame"])
    for generator in generators:
        psnr[generator] = scores[generator]["psnr"]["generated"]
        ms_per_frame[generator] = scores[generator]["ms_per_frame"]["generated"]
    made = jump_bridges(analysis, models, frames_per_bridge=frames_per_bridge, max_jumps=max_jumps,
                        size=model.size, progress=progress)
    measured = transition_measures(analysis, made, size=model.size, seed=seed)
    measured["jumps"]["generated"] = measured["jumps"].get(first)
    best_baseline = max(psnr["crossfade"], psnr["morph"])
    return {
        "psnr": psnr,
        "generated_minus_best_baseline_db": round(psnr["generated"] - best_baseline, 3),
        "ms_per_frame": ms_per_frame,
        "frames_scored": scores[first]["frames_scored"],
        "holdout": list(holdout),
        "frames_used": len(frames),
        "model_size": list(model.size),
        "generators": list(generators),
        "train_seconds": seconds[first],
        "train_seconds_per_generator": seconds,
        "training": model.record,
        "training_per_generator": {g: models[g].record for g in generators},
        "config": configs[first],
        "configs": configs,
        **measured,
    }


def run(args) -> int:
    from engine.commands._common import open_analysis, output_plan
    from precompute.generative_nets import GENERATORS

    output_plan(args, args.clip).add("-o", args.output, suffixes=(".json",)).check()
    analysis = open_analysis(args.clip, args, progress=not args.quiet)
    result = evaluate_clip(analysis, train_minutes=args.train_minutes, max_frames=args.max_frames,
                           width=args.width, frames_per_bridge=args.bridge_frames, max_jumps=args.max_jumps,
                           seed=args.seed, device=args.device, progress=not args.quiet,
                           generators=tuple(dict.fromkeys(args.generator or GENERATORS)))
    result["clip"] = str(args.clip)
    psnr = result["psnr"]
    print(f"{args.clip}: {result['frames_scored']} held-out in-between frames, model {result['model_size'][1]}x"
          f"{result['model_size'][0]}, trained {result['train_seconds']:.0f} s "
          f"({result['training']['steps_run']} steps)")
    print("PSNR dB   " + "  ".join(f"{name} {psnr[name]:.2f}" for name in
                                    ("cut", "crossfade", "morph_dis", "morph_farneback", *result["generators"])))
    print(f"generated - best of crossfade/morph: {result['generated_minus_best_baseline_db']:+.2f} dB")
    jumps = result["jumps"]
    if jumps.get("jumps"):
        print(f"bridge frames at {jumps['jumps']} jumps, distance to the nearest real frame "
              "(median natural steps, mean/median): " + "  ".join(
                  f"{m} {jumps[m]['mean']:.2f}/{jumps[m]['median']:.2f}"
                  for m in ("crossfade", "morph", *result["generators"]) if m in jumps))
        print("realism (median natural steps): method  median/p95 nearest real  p95 local  p95 step  two-sample acc")
        for method, figures in result["realism"].items():
            accuracy = result["two_sample"].get(method)
            print(f"  {method:<10} {figures['median_nearest_real']:.2f}/{figures['p95_nearest_real']:.2f}"
                  f"  {figures['p95_nearest_real_local']:.2f}  {figures['p95_step']:.2f}  "
                  + (f"{100 * accuracy:.0f}%" if accuracy is not None else "-"))
    if args.output:
        from precompute.files import write_json

        result["format"] = "framechain-eval-transitions"
        write_json(args.output, result, what="-o", indent=1)
    return 0

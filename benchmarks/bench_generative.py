"""In-between frames on held-out real frames: cut, crossfade, DIS morph, Farneback morph, generated.

For each clip the last tenth is held out, the model (precompute.generative) trains on the rest
within --minutes, and every method guesses the real frames between held-out tuples (s, s+k),
2 <= k <= 6; PSNR in dB at the model size (128 px wide). Also: training time, steps run, the
step whose checkpoint was kept (the best on the validation frames, the last stretch of the
training part; see GenerativeConfig.validation), and milliseconds per generated frame on this
machine (a 4-frame bridge, flows included, at the model size and upsampled to display size).
Clips: the procedural candle and fish (assets/) and ../shared/clips (skipped when missing; never
copied).

    .venv/bin/python -m benchmarks.bench_generative [--minutes 5] [--clips candle,fish,...]
        [--generator regression|gan|diffusion]

Writes benchmarks/results/bench_generative.json. Timings depend on the machine's load: the JSON
records the load average; compare runs made under similar load only.
"""
from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np

from benchmarks._util import save

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "clips"
CLIPS = {
    "candle": "procedural",
    "fish": "procedural",
    "candle_png": SHARED / "candle_flame_144x144_png",
    "waterfall": SHARED / "waterfall_forest_640x360.mp4",
    "night_lights": SHARED / "night_lights_bridge_reflection_1280x720.mov",
    "fish_real": SHARED / "fish_school_on_black_596x336.mp4",
}


def clip_frames(name: str, max_frames: int) -> np.ndarray | None:
    """(T, H, W, 3) uint8 frames of a named clip, or None when it is missing."""
    if name == "candle":
        from assets.candle import candle_frames

        return candle_frames()[:max_frames]
    if name == "fish":
        from assets.fish import FishConfig, fish_sprite_clip, pond_background

        rgba, _, _ = fish_sprite_clip(FishConfig(frames=max_frames))
        size = rgba.shape[1]
        background = pond_background(size, size).astype(np.float32)  # (S, S, 3)
        alpha = rgba[..., 3:4].astype(np.float32) / 255  # (T, S, S, 1)
        return (rgba[..., :3] * alpha + background * (1 - alpha) + 0.5).astype(np.uint8)
    path = CLIPS[name]
    if not Path(path).exists():
        return None
    from precompute.video_io import decode_clip

    frames, _ = decode_clip(path, max_frames=max_frames)
    return frames


def bridge_ms(model, frames: np.ndarray, *, repeats: int = 3) -> tuple[float, float]:
    """ms per generated frame of a 4-frame bridge: at the model size, and upsampled to display size."""
    from precompute import bridges, generative

    a, b = frames[0], frames[min(5, len(frames) - 1)]
    times = np.arange(1, 5) / 5
    best_small = best_full = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a_small, b_small = generative.resize_frames(np.stack([a, b]), model.size)
        flows = generative._flow_pair(a_small, b_small, model.config.flow)
        made = model.interpolate(a_small, b_small, times, flows=flows)
        middle = time.perf_counter()
        bridges.upsample_guided(made, a, b, times, flows)
        done = time.perf_counter()
        best_small = min(best_small, (middle - started) * 1000 / len(times))
        best_full = min(best_full, (done - started) * 1000 / len(times))
    return best_small, best_full


def main(argv=None) -> int:
    from precompute import generative

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per clip")
    parser.add_argument("--clips", default=",".join(CLIPS), help="comma-separated: " + ",".join(CLIPS))
    parser.add_argument("--max-frames", type=int, default=400, help="frames used per clip (from the start)")
    parser.add_argument("--generator", default="regression", choices=("regression", "gan", "diffusion"),
                        help="the in-between model trained (issue 13); the PSNR sanity goal for gan and "
                             "diffusion: no worse than 0.3 dB below the morph")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    print(f"generator: {args.generator}; gain = generated - best of crossfade/morph; "
          "vs morph = generated - morph (issue 13 sanity goal >= -0.3 dB)")
    rows = {}
    header = f"{'clip':14s} {'frames':>6s} {'size':>8s} {'cut':>6s} {'xfade':>6s} {'DIS':>6s} {'Farn':>6s} " \
             f"{'gen':>6s} {'gain':>6s} {'vs morph':>8s} {'train s':>7s} {'steps':>5s} {'kept':>5s} {'ms/f':>6s} {'ms/f full':>9s}"
    print(header)
    for name in args.clips.split(","):
        frames = clip_frames(name, args.max_frames)
        if frames is None:
            print(f"{name:14s} skipped: {CLIPS[name]} is missing")
            continue
        config = dataclasses.replace(generative.default_config(), time_limit_s=args.minutes * 60,
                                     generator=args.generator)
        holdout = generative.holdout_range(len(frames))
        model = generative.train_model(frames, config=config, holdout=holdout, progress=not args.quiet)
        scores = generative.evaluate_inbetweens(frames, holdout, model=model, size=model.size,
                                                max_gap=config.max_gap)
        psnr = scores["psnr"]
        gain = psnr["generated"] - max(psnr["crossfade"], psnr["morph"])
        small_ms, full_ms = bridge_ms(model, frames)
        rows[name] = {"generator": args.generator, "minus_morph_db": round(psnr["generated"] - psnr["morph"], 3),
                      "frames": len(frames), "display_size": list(frames.shape[1:3]), "model_size": list(model.size),
                      "psnr": psnr, "gain_db": round(gain, 3), "train_seconds": model.record["train_seconds"],
                      "steps": model.record["steps_run"], "planned_steps": model.record["planned_steps"],
                      "best_step": model.record["best_step"], "validation": model.record["validation"],
                      "validation_psnr": model.record["validation_psnr"], "ms_per_generated_frame": round(small_ms, 2),
                      "ms_per_generated_frame_display": round(full_ms, 2),
                      "ms_per_frame_eval": scores["ms_per_frame"], "frames_scored": scores["frames_scored"]}
        print(f"{name:14s} {len(frames):6d} {model.size[1]:>3d}x{model.size[0]:<4d} {psnr['cut']:6.2f} "
              f"{psnr['crossfade']:6.2f} {psnr['morph_dis']:6.2f} {psnr['morph_farneback']:6.2f} "
              f"{psnr['generated']:6.2f} {gain:+6.2f} {psnr['generated'] - psnr['morph']:+8.2f} "
              f"{model.record['train_seconds']:7.0f} "
              f"{model.record['steps_run']:5d} {model.record['best_step']:5d} {small_ms:6.1f} {full_ms:9.1f}", flush=True)
    suffix = "" if args.generator == "regression" else f"_{args.generator}"
    path = save(f"bench_generative{suffix}", {"generator": args.generator, "minutes": args.minutes, "max_frames": args.max_frames, "clips": rows})
    print(f"written {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

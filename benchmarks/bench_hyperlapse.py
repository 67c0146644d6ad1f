"""Hyperlapse (issue 17): selection speed and smoothness on a 30,000-frame synthetic walk at 8x.

Goals: selection (decode, frame matching, the dynamic programme) at >= 30 input frames per
second on 2 cores, and the hyperlapse's jitter (../shared/tools/quality.py shake's measure) at
most half that of naive every-8th-frame sampling.

    python -m benchmarks.bench_hyperlapse [--frames 30000] [--speedup 8]

The walk (tests/synthetic_walk.py: 192x108, hand shake with jolts, a known path) is encoded
once into the cache ($FRAMECHAIN_CACHE or ~/.cache/framechain/bench/) and reused. Decoding alone
is timed in the same run, so the selection's cost over the decoder's is a ratio.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from benchmarks._util import machine, save

GOAL_INPUT_FPS = 30.0
GOAL_JITTER_RATIO = 0.5


def _clip(frames: int) -> tuple[Path, object]:
    from tests.synthetic_walk import WalkConfig, walk_truth, write_walk

    root = Path(os.environ.get("FRAMECHAIN_CACHE", Path.home() / ".cache" / "framechain")) / "bench"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"walk_{frames}.mp4"
    config = WalkConfig()
    if not path.exists():
        started = time.perf_counter()
        write_walk(path, frames, config, progress=True)
        print(f"made {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - started:.0f} s")
    return path, walk_truth(frames, config)


def _decode_only(path: Path) -> tuple[float, int]:
    from precompute.video_io import open_clip

    started = time.perf_counter()
    with open_clip(path) as reader:
        count = sum(1 for _ in reader)
    return time.perf_counter() - started, count


def _selection(path: Path, speedup: float, config):
    from precompute.hyperlapse import match_frames, matching_costs, select_frames
    from precompute.video_io import open_clip

    started = time.perf_counter()
    with open_clip(path) as reader:
        matches = match_frames(reader, speedup=speedup, config=config,
                               n_frames_hint=reader.info.frame_count_hint, progress=True)
    matched_s = time.perf_counter() - started
    selection = select_frames(matching_costs(matches, config), speedup, config)
    return matches, selection, matched_s, time.perf_counter() - started


def _frames_at(path: Path, wanted: set) -> dict:
    from precompute.video_io import open_clip

    found = {}
    with open_clip(path) as reader:
        for index, frame in enumerate(reader):
            if index in wanted:
                found[index] = frame
    return found


def main() -> None:
    import cv2

    from precompute.hyperlapse import (HyperlapseConfig, estimated_jitter_px, jitter_px,
                                       naive_frames, stabilizing_warps)

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30000)
    parser.add_argument("--speedup", type=float, default=8.0)
    args = parser.parse_args()
    path, truth = _clip(args.frames)
    config = HyperlapseConfig()
    load_before = os.getloadavg()
    decode_s, count = _decode_only(path)
    matches, selection, matched_s, selection_s = _selection(path, args.speedup, config)
    decode_again_s, _ = _decode_only(path)  # the decoder's speed on either side of the selection
    decode_s = (decode_s + decode_again_s) / 2
    load_after = os.getloadavg()
    naive = naive_frames(count, args.speedup)
    frames = _frames_at(path, set(selection.frames.tolist()) | set(naive.tolist()))

    def jitter(path_frames, stabilize: bool) -> float:
        shown = [frames[int(f)] for f in path_frames]
        if stabilize:
            warps = stabilizing_warps(matches, path_frames, config)
            shown = [cv2.warpAffine(f, w, matches.frame_size, flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE) for f, w in zip(shown, warps)]
        return jitter_px(shown)

    figures = {
        "selected": jitter(selection.frames, False), "naive": jitter(naive, False),
        "selected_stabilized": jitter(selection.frames, True),
        "naive_stabilized": jitter(naive, True),
    }
    shake = truth.shake_px
    thrown = shake > config.overlap_limit * np.hypot(*matches.frame_size)
    input_fps = count / selection_s
    result = {
        "frames": count, "size": list(matches.frame_size), "speedup": args.speedup,
        "decode_s": decode_s, "matching_s": matched_s, "selection_s": selection_s,
        "selection_input_fps": input_fps, "selection_over_decode": selection_s / decode_s,
        "threads": config.threads, "load_avg_before": load_before, "load_avg_after": load_after,
        "mean_step": selection.mean_step, "chosen": int(len(selection.frames)),
        "jitter_px": figures,
        "estimated_jitter_px": {"selected": estimated_jitter_px(matches, selection.frames),
                                "naive": estimated_jitter_px(matches, naive)},
        "thrown_frames": int(thrown.sum()),
        "thrown_chosen": int(thrown[selection.frames].sum()),
        "thrown_naive": int(thrown[naive].sum()),
    }
    print(f"{count} frames {matches.frame_size[0]}x{matches.frame_size[1]} at {args.speedup:g}x "
          f"(shared machine: load average {load_before[0]:.1f} before, {load_after[0]:.1f} after, "
          f"{os.cpu_count()} cores; timings are noisy)")
    print(f"decode alone: {decode_s:.1f} s ({count / decode_s:.0f} frames/s)")
    print(f"selection (decode + matching + DP, {config.threads} threads): {selection_s:.1f} s = "
          f"{input_fps:.0f} input frames/s; goal >= {GOAL_INPUT_FPS:.0f}: "
          f"{input_fps / GOAL_INPUT_FPS:.1f}x the goal; {selection_s / decode_s:.1f}x the decode alone")
    print(f"mean step {selection.mean_step:.3f} (asked {args.speedup:g}, "
          f"{abs(selection.mean_step / args.speedup - 1):.1%} off); frames thrown beyond the overlap "
          f"limit: {int(thrown.sum())}, chosen {result['thrown_chosen']}, naive shows "
          f"{result['thrown_naive']}")
    naive_jitter = figures["naive"]
    for name, value in figures.items():
        print(f"jitter {name:20s} {value:6.2f} px  ({value / naive_jitter:.2f} of naive)")
    ratio = figures["selected_stabilized"] / naive_jitter
    print(f"goal: hyperlapse jitter <= {GOAL_JITTER_RATIO} x naive: selected + --stabilize "
          f"{ratio:.2f} ({'met' if ratio <= GOAL_JITTER_RATIO else 'NOT met'}); selection alone "
          f"{figures['selected'] / naive_jitter:.2f}; against naive + the same stabiliser "
          f"{figures['selected_stabilized'] / figures['naive_stabilized']:.2f}")
    print(f"saved {save('hyperlapse', result)} ({machine()['cpu_count']} cores)")


if __name__ == "__main__":
    main()

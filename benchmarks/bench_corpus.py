"""Endless play on real footage, judged by the outside measure: one row per clip and seed.

    python -m benchmarks.bench_corpus [--clips DIR_OR_CLIP ...] [--seeds 1 2 3] [--frames 3000]

Plays every clip of ../shared/clips (and any folder or clip given) at default settings, as a
user would: `framechain play CLIP --headless --frames F --seed S --log play.json`, then scores
the log with ../shared/tools/quality.py `jumps` (the code that checks the goals on clips we do
not have). Prints each clip's worst figure over the seeds, and pass/fail per goal:

    window_distinct_min >= 0.4          never trapped in a few frames
    jumps_per_2s >= 1                   variety
    p95_jump_step_over_natural <= min(1.5, the clip's p95 natural step / median)
    coverage >= 0.7                     the whole clip is used
    median_ghost_over_natural <= 0.5    crossfades do not show double images

Analyses go to a temporary cache, so the figures are those of the code as it is now.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
SHARED = HERE.parent / "shared"
QUALITY = SHARED / "tools" / "quality.py"


def _clips(paths: list[str]) -> list[Path]:
    found = []
    for p in map(Path, paths):
        if p.is_dir() and not any(c.suffix.lower() in (".png", ".jpg", ".jpeg") for c in p.iterdir()):
            found += sorted(c for c in p.iterdir() if not c.name.endswith(".md"))
        else:
            found.append(p)
    return found


def _goals(r: dict) -> dict:
    return {
        "trap": r["window_distinct_min"] >= 0.4,
        "jumps": r["jumps_per_2s"] >= 1.0,
        "p95": r["p95_jump_step_over_natural"] <= min(1.5, r["p95_natural_over_median"]) + 1e-9,
        "coverage": r["coverage"] >= 0.7,
        "ghost": r["median_ghost_over_natural"] <= 0.5,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", nargs="*", default=[str(SHARED / "clips")])
    parser.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3])
    parser.add_argument("--frames", type=int, default=3000)
    args = parser.parse_args(argv)
    if not QUALITY.is_file():
        print(f"bench_corpus: {QUALITY} is missing (it comes with ../shared)", file=sys.stderr)
        return 2
    framechain = [sys.executable, "-m", "engine.cli"]
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    print(f"{'clip':34s} {'distinct':>8s} {'jumps/2s':>8s} {'p95/lim':>12s} {'cover':>6s} {'ghost':>6s}  "
          f"{'1st run s':>9s}  result")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        env["FRAMECHAIN_CACHE"] = str(Path(tmp) / "cache")
        for clip in _clips(args.clips):
            worst, analyse_s = None, None
            for seed in args.seeds:
                log = Path(tmp) / "play.json"
                started = time.perf_counter()
                run = subprocess.run(framechain + ["play", str(clip), "--headless", "--frames",
                                                   str(args.frames), "--seed", str(seed), "--log", str(log)],
                                     env=env, capture_output=True, text=True, cwd=HERE)
                if analyse_s is None:  # the first run analyses (into the fresh cache), then plays
                    analyse_s = time.perf_counter() - started
                if run.returncode != 0:
                    print(f"{clip.name[:34]:34s} play failed: {run.stderr.strip().splitlines()[-1:]}")
                    worst = None
                    break
                out = subprocess.run([sys.executable, str(QUALITY), "jumps", str(clip), str(log)],
                                     capture_output=True, text=True, check=True)
                r = json.loads(out.stdout.strip().splitlines()[-1])
                if worst is None:
                    worst = r
                else:
                    for key in ("window_distinct_min", "jumps_per_2s", "coverage"):
                        worst[key] = min(worst[key], r[key])
                    for key in ("p95_jump_step_over_natural", "median_ghost_over_natural"):
                        worst[key] = max(worst[key], r[key])
            if worst is None:
                failed += 1
                continue
            goals = _goals(worst)
            limit = min(1.5, worst["p95_natural_over_median"])
            verdict = "pass" if all(goals.values()) else "FAIL " + ",".join(k for k, ok in goals.items() if not ok)
            failed += not all(goals.values())
            print(f"{clip.name[:34]:34s} {worst['window_distinct_min']:8.2f} {worst['jumps_per_2s']:8.2f} "
                  f"{worst['p95_jump_step_over_natural']:5.2f}/{limit:4.2f}  {worst['coverage']:6.2f} "
                  f"{worst['median_ghost_over_natural']:6.2f}  {analyse_s:9.1f}  {verdict}", flush=True)
    print(f"worst of seeds {args.seeds}, {args.frames} frames each; {failed} clip(s) failing a goal")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

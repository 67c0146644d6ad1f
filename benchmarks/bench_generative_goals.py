"""Issue 13's goals, measured the outside way: transitions of a 20 s random export judged by
../shared/tools/quality.py `realism`, generated bridges against the crossfade and the morph.

For each clip (../shared/clips: fish school, candle_flame png folder, clock; skipped when
missing, never copied) and each generator:

    framechain bridges CLIP --generator G --train-minutes M
    framechain export CLIP --mode random --seconds 20 --seed 1 --transitions T --log LOG -o OUT
        (T = crossfade, morph, generated)
    python ../shared/tools/quality.py realism CLIP OUT LOG

and prints p95_nearest_real_local (goal: generated <= 0.8x crossfade and <= morph), p95_step
(goal: generated <= morph) and median_nearest_real per method, with the ratios. The two-sample
goal is measured offline by `framechain eval-transitions` (its "two_sample" block); this bench
prints it too with --two-sample (one more training per generator).

    .venv/bin/python -m benchmarks.bench_generative_goals [--minutes 5] [--generators gan,diffusion]
        [--clips fish,candle,clock]

Work goes to a temporary folder (its own analysis cache, $FRAMECHAIN_CACHE); results to
benchmarks/results/bench_generative_goals.json. Training is time-limited: on a loaded machine
a run makes fewer steps (the JSON records steps run).
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

from benchmarks._util import save

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CLIPS = {
    "fish": SHARED / "clips" / "fish_school_on_black_596x336.mp4",
    "candle": SHARED / "clips" / "candle_flame_144x144_png",
    "clock": SHARED / "clips" / "clock_pendulum_352x288.mov",
}
QUALITY = SHARED / "tools" / "quality.py"


def _run(command: list[str], env: dict) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-600:]}")
    return done.stdout


def _realism(clip: Path, transitions: str, work: Path, env: dict) -> dict:
    out, log = work / f"{transitions}.mp4", work / f"{transitions}.json"
    _run([sys.executable, "-m", "engine.cli", "export", str(clip), "--mode", "random", "--seconds", "20",
          "--seed", "1", "--transitions", transitions, "--log", str(log), "-o", str(out), "--force",
          "--quiet"], env)
    line = _run([sys.executable, str(QUALITY), "realism", str(clip), str(out), str(log)], env)
    return json.loads(line.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="training budget per model (default 5)")
    parser.add_argument("--generators", default="gan,diffusion", help="comma-separated (default gan,diffusion)")
    parser.add_argument("--clips", default="fish,candle,clock", help="comma-separated names of CLIPS")
    args = parser.parse_args(argv)
    results = {"minutes": args.minutes, "load_average": os.getloadavg(), "clips": {}}
    with tempfile.TemporaryDirectory(prefix="framechain-goals-") as temporary:
        env = dict(os.environ, FRAMECHAIN_CACHE=str(Path(temporary) / "cache"))
        for name in args.clips.split(","):
            clip = CLIPS[name]
            if not clip.exists():
                print(f"{name}: {clip} missing, skipped")
                continue
            work = Path(temporary) / name
            work.mkdir()
            figures = {method: _realism(clip, method, work, env) for method in ("crossfade", "morph")}
            for generator in args.generators.split(","):
                started = time.perf_counter()
                said = _run([sys.executable, "-m", "engine.cli", "bridges", str(clip), "--generator", generator,
                             "--train-minutes", str(args.minutes), "--quiet", "--model-device", "cpu"], env)
                figures[f"generated_{generator}"] = _realism(clip, "generated", work, env)
                figures[f"generated_{generator}"]["bridges_seconds"] = round(time.perf_counter() - started, 1)
                figures[f"generated_{generator}"]["bridges_said"] = said.strip()
            results["clips"][name] = figures
            cross, morph = figures["crossfade"], figures["morph"]
            print(f"{name} (training {args.minutes} min per model)")
            print(f"  {'method':<22} {'p95 local':>9} {'/xfade':>7} {'/morph':>7} {'p95 step':>9} {'/morph':>7} "
                  f"{'median near':>11}")
            for method, f in figures.items():
                if "p95_nearest_real_local" not in f:
                    print(f"  {method:<22} no transition frames")
                    continue
                local, step = f["p95_nearest_real_local"], f["p95_step"]
                print(f"  {method:<22} {local:9.3f} {local / cross['p95_nearest_real_local']:7.2f} "
                      f"{local / morph['p95_nearest_real_local']:7.2f} {step:9.3f} {step / morph['p95_step']:7.2f} "
                      f"{f['median_nearest_real']:11.3f}")
            print("  goals: p95 local <= 0.80x crossfade and <= 1.00x morph; p95 step <= 1.00x morph", flush=True)
    save("bench_generative_goals", results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Foundation benchmarks (issue 2). Prints figures and writes benchmarks/results/analysis.json.

    .venv/bin/python -m benchmarks.bench_analysis [--quick] [--no-slow-expected] [--only distances]

1. frame_distances against X @ X.T (numpy's symmetric rank-k update, the tightest reference) on
   the same (N, d) float32 features, N = 500, 2000, 8000 at d = 64x48x3 and 160x120x3; with the
   float32 accuracy on neighbouring frames against a float64 reference.
2. future cost for N = 1000 and 4000, both forms: time and passes.
3. whole analysis of an 800-frame 480x480 clip against decoding it alone.
4. (issue 17) `framechain analyze` of an 800-frame 480x480 candle (the procedural tealight of
   assets.candle, drawn at 480x480) as a whole process against a process that decodes the same
   clip to RGB arrays and nothing else (benchmarks/decode_rgb.py: PyAV, FFmpeg threads, one kept
   converter), in interleaved pairs (median of the pairs' ratios). Goal: <= 1.5x wall. Wall
   figures on a shared machine move with its load; the CPU ratio is printed beside them.
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._util import best_of, save


def _features(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Features like a real clip's: a smooth random walk, so neighbours are close."""
    rng = np.random.default_rng(seed)
    base = rng.uniform(40, 200, d).astype(np.float32)
    steps = rng.normal(0, 1.5, (n, 16)).astype(np.float32)
    walk = np.cumsum(steps, axis=0)  # (n, 16)
    walk -= walk.mean(0)
    mix = rng.normal(0, 1, (16, d)).astype(np.float32)
    out = base + np.tanh(walk / 30) @ mix * 20  # (n, d)
    out += rng.normal(0, 0.5, (n, d)).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.float32)


def bench_distances(sizes, dims):
    from precompute import frame_distances

    rows = []
    for d in dims:
        for n in sizes:
            x = _features(n, d)
            frame_distances(x[:50])  # compile once
            t_ours = t_ref = np.inf
            # Alternating, so that a burst of other load spoils both alike. Each turn starts from
            # an idle machine (OpenBLAS's workers spin for ~0.1-0.2 s after a threaded product, and
            # a call right after X@X.T would share the cores with them: frame_distances runs its
            # own threads; the analysis makes no BLAS call before it) and keeps the better of 2.
            repeats = 1 if n >= 8000 else 2
            for _ in range(2 if n >= 8000 else 10 if n >= 2000 else 20):  # small N: noisier, cheap
                time.sleep(0.3)
                t_ref = min(t_ref, best_of(lambda: x @ x.T, repeats))
                time.sleep(0.3)
                t_ours = min(t_ours, best_of(lambda: frame_distances(x), repeats))
            got = frame_distances(x)
            i = np.arange(n - 1)
            x64 = x.astype(np.float64)
            ref = np.sqrt(((x64[1:] - x64[:-1]) ** 2).sum(1))
            error = float(np.max(np.abs(got[i, i + 1] - ref) / ref))
            row = {"n": n, "d": d, "ours_s": t_ours, "x_xt_s": t_ref, "ratio": t_ours / t_ref,
                   "max_rel_error_neighbours": error}
            rows.append(row)
            print(f"distances N={n:5d} d={d:6d}: {t_ours:7.3f} s vs X@X.T {t_ref:7.3f} s "
                  f"= {t_ours / t_ref:4.2f}x; neighbour rel. error {error:.1e}", flush=True)
            del got, x
    return rows


def bench_future_cost(sizes, expected_sizes):
    from precompute import future_cost
    from precompute.dynamics import transition_costs
    from precompute import frame_distances

    rows = []
    for n in sizes:
        x = _features(n, 2000, seed=1)
        costs = transition_costs(frame_distances(x) / np.float32(np.sqrt(2000)), m=2, min_jump_frames=3)
        mean = float(costs[np.isfinite(costs) & (costs > 0)].mean())
        future_cost(costs[:20, :20].copy(), alpha=0.995)  # compile
        for form in ("min", "expected") if n in expected_sizes else ("min",):
            elapsed = np.inf
            for _ in range(3 if form == "min" else 1):  # best of 3 where a run is short
                t0 = time.perf_counter()
                result = future_cost(costs, alpha=0.995, form=form, sigma=0.1 * mean)
                elapsed = min(elapsed, time.perf_counter() - t0)
            rows.append({"n": n, "form": form, "seconds": elapsed, "passes": result.passes,
                         "converged": result.converged})
            print(f"future cost N={n:5d} {form:8s}: {elapsed:6.3f} s, {result.passes} passes, "
                  f"converged {result.converged}", flush=True)
    return rows


def _write_clip(path: Path, n: int, size: int) -> None:
    import av

    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    rng = np.random.default_rng(3)
    texture = rng.uniform(0, 255, (size // 8, size // 8, 3)).astype(np.float32)
    import cv2

    texture = cv2.resize(texture, (size, size), interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for t in range(n):
            phase = 2 * np.pi * t / 97 + 0.3 * np.sin(t / 13)
            cx = size / 2 + size * 0.3 * np.cos(phase)
            cy = size / 2 + size * 0.3 * np.sin(phase * 2)
            blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (size * 0.08) ** 2))[..., None]
            frame = np.clip(texture * (1 - blob) + 255 * blob, 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def bench_whole(n: int = 800, size: int = 480):
    from precompute import analyze_clip
    from precompute.video_io import open_clip

    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        _write_clip(clip, n, size)

        def decode_only():
            with open_clip(clip) as reader:
                for _ in reader:
                    pass

        analyze_clip(clip, out=Path(tmp) / "warm", progress=False)  # compile numba kernels
        shutil.rmtree(Path(tmp) / "warm")
        # decoding and analysis alternate, so a burst of other load spoils both alike; each
        # analysis is written to a new folder, as a first analysis is (replacing an older one
        # would add deleting its frame store to the time), removed untimed
        t_decode, t_analysis, analysis = np.inf, np.inf, None
        for run in range(5):
            t_decode = min(t_decode, best_of(decode_only, 1))
            out = Path(tmp) / f"a{run}"
            t0 = time.perf_counter()
            analysis = analyze_clip(clip, out=out, progress=False)
            t_analysis = min(t_analysis, time.perf_counter() - t0)
            analysis = None  # drop the memory map before deleting its file
            shutil.rmtree(out)
        analysis = analyze_clip(clip, out=Path(tmp) / "a", progress=False)
        print(f"whole analysis {n} frames {size}x{size}: {t_analysis:.3f} s vs decode alone "
              f"{t_decode:.3f} s = {t_analysis / t_decode:.2f}x; stages {analysis.stats['timings']}",
              flush=True)
        return {"n": n, "size": size, "analysis_s": t_analysis, "decode_s": t_decode,
                "ratio": t_analysis / t_decode, "stages": analysis.stats["timings"]}


def write_tealight(path: Path, frames: int = 800, size: int = 480) -> Path:
    """The procedural candle (assets.candle) at size x size, `frames` frames, as H.264 mp4.
    Drawn in a process of its own: a child's peak RSS counts its parent's at fork (Linux keeps
    it across exec), and the 553 MB of frames would be counted in every measured process."""
    import subprocess
    import sys

    if not path.exists():
        code = ("import sys\nfrom assets.candle import candle_frames\n"
                "from precompute.video_io import write_frames\n"
                f"write_frames(sys.argv[1], candle_frames(seconds={frames / 30.0!r}, "
                f"size=({size}, {size})), fps=30)\n")
        subprocess.run([sys.executable, "-c", code, str(path)], check=True,
                       cwd=Path(__file__).resolve().parents[1])
    return path


def bench_process(runs: int = 5):
    """`framechain analyze` as a process against a decode-to-RGB process (section 4 above)."""
    import sys

    from benchmarks._util import process_pairs

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_tealight(Path(tmp) / "tealight_480.mp4")
        out = Path(tmp) / "analysis"
        analyze = [sys.executable, "-m", "engine.cli", "analyze", str(clip), "-o", str(out), "--quiet"]
        decode = [sys.executable, str(root / "benchmarks" / "decode_rgb.py"), str(clip)]
        naive = [sys.executable, str(root / "benchmarks" / "decode_rgb.py"), str(clip), "--naive"]
        env_cache = {"FRAMECHAIN_CACHE": str(Path(tmp) / "cache")}
        os.environ.update(env_cache)  # remember_analysis links into a cache of its own

        def fresh():  # each analysis is a first one (replacing one would add deleting its store)
            shutil.rmtree(out, ignore_errors=True)

        result = process_pairs(analyze, decode, runs, before_a=fresh, cwd=root)
        naive_pairs = process_pairs(naive, decode, 3, cwd=root)
    result["naive_to_ndarray_over_kept_converter"] = naive_pairs["wall_ratio"]
    print(f"analyze process (800 frames 480x480): {result['a_wall_s']:.2f} s wall, "
          f"{result['a_cpu_s']:.2f} s CPU; decode-to-RGB process {result['b_wall_s']:.2f} s wall, "
          f"{result['b_cpu_s']:.2f} s CPU; ratio (median of {runs} interleaved pairs) "
          f"{result['wall_ratio']:.2f}x wall (goal <= 1.5x), {result['cpu_ratio']:.2f}x CPU; "
          f"peak RSS {result['a_peak_rss_bytes'] / 2**20:.0f} MiB", flush=True)
    print(f"  (frame.to_ndarray(format='rgb24') per frame, a new converter each: "
          f"{naive_pairs['wall_ratio']:.2f}x the kept converter's process)", flush=True)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smaller sizes: no N=8000 distances, no expected-form future cost at N=4000")
    parser.add_argument("--no-slow-expected", action="store_true",
                        help="skip only the expected-form future cost at N=4000 (~6 min on its own)")
    parser.add_argument("--only", choices=["distances", "future_cost", "whole_analysis", "process"],
                        help="run one of the three benchmarks (its figures are saved to analysis_ONLY.json)")
    args = parser.parse_args()
    sizes = [500, 2000] if args.quick else [500, 2000, 8000]
    benches = {
        "distances": lambda: bench_distances(sizes, [64 * 48 * 3, 160 * 120 * 3]),
        "future_cost": lambda: bench_future_cost(
            [1000, 4000], [1000] if args.quick or args.no_slow_expected else [1000, 4000]),
        "whole_analysis": bench_whole,
        "process": bench_process,
    }
    picked = [args.only] if args.only else list(benches)
    results = {name: benches[name]() for name in picked}
    print(f"saved {save('analysis' if not args.only else f'analysis_{args.only}', results)}")


if __name__ == "__main__":
    main()

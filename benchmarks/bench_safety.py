"""What hashing every byte of the frame store costs the analysis (issue 16; goal: at most 5%).

The store's hash (xxh3-128, precompute.bundle.store_hasher) is taken on the decode loop's
worker thread as each frame is written (no second read). With sha256 instead it was +17% (best
of 5, 1.32 vs 1.13 s) on this 2-core machine: the hash shares the cores with decoding. This times `analyze_clip` on the same 800-frame 480x480 clip as
bench_analysis.py's whole-analysis figure, with the hash and with a no-op in its place
(precompute.analysis._store_hasher), alternating the two so that load from other work spoils
both alike; best of --runs each. On a shared 2-core machine these runs differ by +-8%, more than
the hash costs, so it also times the hash alone over the store in memory (an upper bound on
what it adds), and what loading an analysis (which re-hashes the store in full) takes.

    python -m benchmarks.bench_safety [--runs 7] [--frames 800] [--size 480]
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._util import save
from benchmarks.bench_analysis import _write_clip


class _NoHash:
    """Stands in for the store's hasher in the "without" runs."""

    def update(self, data) -> None:
        pass

    def hexdigest(self) -> str:
        return "0" * 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7, help="runs of each, alternating (best taken)")
    parser.add_argument("--frames", type=int, default=800)
    parser.add_argument("--size", type=int, default=480, help="frame width and height in px")
    args = parser.parse_args()

    import precompute.analysis as analysis_module
    from precompute import analyze_clip, load_analysis

    hasher = analysis_module._store_hasher
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        _write_clip(clip, args.frames, args.size)
        analyze_clip(clip, out=Path(tmp) / "warm", progress=False)  # compile numba kernels
        shutil.rmtree(Path(tmp) / "warm")
        times = {"with_hash_s": [], "without_hash_s": []}
        for run in range(args.runs):
            for key, store_hasher in (("with_hash_s", hasher), ("without_hash_s", _NoHash)):
                analysis_module._store_hasher = store_hasher
                out = Path(tmp) / f"{key}{run}"
                started = time.perf_counter()
                analysis = analyze_clip(clip, out=out, progress=False)
                times[key].append(time.perf_counter() - started)
                del analysis  # drop the memory map before deleting its file
                shutil.rmtree(out)
        analysis_module._store_hasher = hasher
        out = Path(tmp) / "kept"
        analyze_clip(clip, out=out, progress=False)
        store_bytes = (out / "frames.u8").stat().st_size
        load_s = min(_timed(lambda: load_analysis(out, check_source=False)) for _ in range(3))
        # the hash's own work, the store already in memory: what it can add at most, were it not
        # overlapped with decoding at all (a figure that the machine's load barely moves)
        store = np.fromfile(out / "frames.u8", np.uint8)
        frame_bytes = args.size * args.size * 3
        hash_s = min(_timed(lambda: _hash_in_frames(hasher, store, frame_bytes)) for _ in range(5))
    with_s, without_s = min(times["with_hash_s"]), min(times["without_hash_s"])
    added = with_s / without_s - 1
    print(f"hashing the {store_bytes / 2**20:.0f} MiB store alone, frame by frame: {hash_s:.3f} s = "
          f"{hash_s / without_s * 100:.1f}% of the analysis without it (at most what it adds)")
    print(f"analysis of {args.frames} frames {args.size}x{args.size} (store {store_bytes / 2**20:.0f} MiB), "
          f"best of {args.runs}: with the whole-store hash {with_s:.3f} s, without {without_s:.3f} s: "
          f"{added * 100:+.1f}% (goal <= +5%); medians {np.median(times['with_hash_s']):.3f} vs "
          f"{np.median(times['without_hash_s']):.3f} s; loading it (re-hashes the store) {load_s:.3f} s")
    path = save("safety", {"frames": args.frames, "size": args.size, "store_bytes": store_bytes,
                           **times, "added_fraction": added, "load_s": load_s,
                           "hash_alone_s": hash_s, "hash_alone_fraction": hash_s / without_s})
    print(f"wrote {path}")


def _hash_in_frames(hasher, store, frame_bytes: int) -> str:
    digest = hasher()
    for start in range(0, store.size, frame_bytes):  # as the writer feeds it: one frame a call
        digest.update(store[start:start + frame_bytes])
    return digest.hexdigest()


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


if __name__ == "__main__":
    main()

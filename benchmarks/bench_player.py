"""Player benchmarks: per-frame cost against the bare upload, paced play, and a soak run.

    python -m benchmarks.bench_player                     # cost at 480p, 720p, 1080p
    python -m benchmarks.bench_player --mode paced        # 10,000 frames paced at 60 fps, 720p
    python -m benchmarks.bench_player --mode soak --frames 1000000   # RSS drift, stalls
    python -m benchmarks.bench_player --mode all --out results.json

Everything runs headless (SDL's dummy video driver) on a synthetic texture held in memory: a
chain whose every frame has the natural step and two jumps, tuned so that play jumps about once
per 30 frames (the candle's rate), so ~13% of frames are 4-frame crossfades.

"bare" is the upload of a ready frame as the issue defines it (pygame frombuffer + blit +
flip, written here directly); "window" is the same through engine.window.Window.show (its
checks included); "full" is one frame of the player: Playback.update(dt) (chain step) +
current_blend() + compositing (cv2/numba) + Window.show. Timings on a shared machine are noisy:
run it alone for figures to quote.
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import sys
import time

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np

from engine.playback import Playback, PlaybackConfig
from engine.render import make_compositor
from engine.texture import VideoTexture
from engine.window import Window, WindowConfig

SIZES = {"480p": (854, 480), "720p": (1280, 720), "1080p": (1920, 1080)}


def synthetic_texture(size: tuple[int, int], n_frames: int = 32, fps: float = 60.0) -> VideoTexture:
    """(n_frames, H, W, 3) gradients that change per frame; links i -> i+1 (cost 0) and two jumps
    of cost ln(58) sigma each, so p(jump) = 2/60 per frame."""
    width, height = size
    y = np.arange(height, dtype=np.uint16)[:, None]
    x = np.arange(width, dtype=np.uint16)[None, :]
    frames = np.empty((n_frames, height, width, 3), np.uint8)
    for t in range(n_frames):  # one frame at a time: the pattern is (H, W) arithmetic
        frames[t, :, :, 0] = (x + 5 * t) & 255
        frames[t, :, :, 1] = (y + 3 * t) & 255
        frames[t, :, :, 2] = ((x + y) // 2 + 7 * t) & 255
    offsets = np.arange(0, 3 * n_frames + 1, 3)
    sources = np.arange(n_frames)
    targets = np.stack([(sources + 1) % n_frames, (sources + 7) % n_frames, (sources + 13) % n_frames], 1).ravel()
    costs = np.tile([0.0, math.log(58), math.log(58)], n_frames).astype(np.float32)
    return VideoTexture.from_arrays(frames, link_offsets=offsets, link_targets=targets,
                                    link_future_costs=costs, fps=fps, sigma=1.0, source="synthetic")


def summary(values_ms) -> dict:
    values = np.asarray(values_ms)
    return {"mean_ms": float(values.mean()), "p50_ms": float(np.percentile(values, 50)),
            "p99_ms": float(np.percentile(values, 99)), "max_ms": float(values.max())}


def cost(size_name: str, frames: int) -> dict:
    import pygame

    texture = synthetic_texture(SIZES[size_name])
    window = Window(WindowConfig(headless=True, show_controls=False)).open(texture.frame_size)
    playback = Playback(texture, PlaybackConfig(seed=1))
    compositor = make_compositor(texture.frames, transitions="crossfade", device="cpu")
    width, height = texture.frame_size
    screen = pygame.display.get_surface()
    bare, through_window, full, blended, full_blended = [], [], [], 0, []
    warmup = 50
    for k in range(frames + warmup):  # interleaved, so that load changes hit all three alike
        ready = texture.frames[k % texture.n_frames]
        started = time.perf_counter()
        surface = pygame.image.frombuffer(ready, (width, height), "RGB")
        screen.blit(surface, (0, 0))
        pygame.display.flip()
        bare_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        window.show(ready)
        window_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        playback.update(1 / 60)
        blend = playback.current_blend()
        window.show(compositor.compose(blend))
        full_ms = (time.perf_counter() - started) * 1000
        if k >= warmup:
            bare.append(bare_ms)
            through_window.append(window_ms)
            full.append(full_ms)
            blended += len(blend) > 1
            if len(blend) > 1:
                full_blended.append(full_ms)
    window.close()
    result = {"size": [width, height], "frames": frames, "blended_share": blended / frames,
              "bare": summary(bare), "window": summary(through_window), "full": summary(full),
              "full_blended_frames": summary(full_blended)}
    result["full_over_bare_mean"] = result["full"]["mean_ms"] / result["bare"]["mean_ms"]
    return result


def paced(frames: int, size_name: str = "720p", fps: float = 60.0) -> dict:
    """Headless play held at `fps` by the window's clock; a frame is dropped when the time from
    one flip to the next exceeds 1.5 frame periods."""
    texture = synthetic_texture(SIZES[size_name], fps=fps)
    window = Window(WindowConfig(headless=True, show_controls=False)).open(texture.frame_size)
    playback = Playback(texture, PlaybackConfig(seed=2))
    compositor = make_compositor(texture.frames, transitions="crossfade", device="cpu")
    work, periods = [], []
    last_flip = None
    dt_s = 1 / fps
    warmup = 60  # first frames: caches, allocations, the clock's first deadline
    for index in range(frames + warmup):
        started = time.perf_counter()
        window.poll()
        playback.update(dt_s)
        window.show(compositor.compose(playback.current_blend()))
        flipped = time.perf_counter()
        if index >= warmup:
            work.append((flipped - started) * 1000)
            periods.append((flipped - last_flip) * 1000)
        last_flip = flipped
        dt_s = window.tick(fps)
    window.close()
    periods = np.asarray(periods)
    limit_ms = 1.5 * 1000 / fps
    return {"size": list(texture.frame_size), "frames": frames, "fps": fps, "work": summary(work),
            "period": summary(periods), "dropped": int((periods > limit_ms).sum()),
            "drop_limit_ms": limit_ms, "work_over_budget": int((np.asarray(work) > 1000 / fps).sum())}


def soak(frames: int, size_name: str = "480p") -> dict:
    """Unpaced headless play, resident memory sampled every 10,000 frames."""
    import psutil

    process = psutil.Process()
    texture = synthetic_texture(SIZES[size_name])
    window = Window(WindowConfig(headless=True, show_controls=False)).open(texture.frame_size)
    playback = Playback(texture, PlaybackConfig(seed=3))
    compositor = make_compositor(texture.frames, transitions="crossfade", device="cpu")
    samples, longest_ms, total_ms = [], 0.0, 0.0
    every = max(1, min(10_000, frames // 20))
    gc.collect()
    for k in range(frames):
        started = time.perf_counter()
        window.poll()
        playback.update(1 / 60)
        window.show(compositor.compose(playback.current_blend()))
        elapsed = (time.perf_counter() - started) * 1000
        total_ms += elapsed
        longest_ms = max(longest_ms, elapsed) if k > 100 else longest_ms
        if k % every == 0:
            samples.append((k, process.memory_info().rss / 2 ** 20))
    samples.append((frames, process.memory_info().rss / 2 ** 20))
    window.close()
    settled = [rss for k, rss in samples if k >= frames // 10] or [samples[-1][1]]
    return {"size": list(texture.frame_size), "frames": frames, "mean_ms": total_ms / frames,
            "longest_ms": longest_ms, "rss_mb_first": samples[0][1],
            "rss_mb_after_warmup": settled[0], "rss_mb_last": samples[-1][1],
            "rss_drift_mb": max(settled) - settled[0], "jumps": playback.jumps}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("cost", "paced", "soak", "all"), default="cost")
    parser.add_argument("--frames", type=int, help="frames per measurement (cost 1500, paced 10000, "
                                                    "soak 1000000 by default)")
    parser.add_argument("--sizes", default="480p,720p,1080p", help="cost mode: sizes to measure")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    results = {}
    if args.mode in ("cost", "all"):
        results["cost"] = {}
        print("per-frame cost, ms (headless, synthetic clip; bare = frombuffer + blit + flip)")
        print(f"{'size':>6} {'bare mean':>10} {'p50':>6} {'p99':>6} {'window':>7} {'full mean':>10} "
              f"{'p50':>6} {'p99':>6} {'full/bare':>10} {'(p50s)':>7} {'blended':>8}")
        for name in args.sizes.split(","):
            r = cost(name, args.frames or 1500)
            results["cost"][name] = r
            print(f"{name:>6} {r['bare']['mean_ms']:10.3f} {r['bare']['p50_ms']:6.2f} {r['bare']['p99_ms']:6.2f} "
                  f"{r['window']['mean_ms']:7.3f} {r['full']['mean_ms']:10.3f} {r['full']['p50_ms']:6.2f} "
                  f"{r['full']['p99_ms']:6.2f} {r['full_over_bare_mean']:10.2f} "
                  f"{r['full']['p50_ms'] / r['bare']['p50_ms']:7.2f} {r['blended_share']:8.1%}")
            print(f"{'':>6} blended frames alone: p50 {r['full_blended_frames']['p50_ms']:.2f} ms, "
                  f"p99 {r['full_blended_frames']['p99_ms']:.2f} ms")
            gc.collect()
    if args.mode in ("paced", "all"):
        r = paced(args.frames or 10_000)
        results["paced"] = r
        print(f"paced 60 fps at {r['size'][0]}x{r['size'][1]}: {r['frames']} frames, dropped {r['dropped']} "
              f"(period > {r['drop_limit_ms']:.1f} ms), period mean {r['period']['mean_ms']:.2f} ms "
              f"max {r['period']['max_ms']:.2f} ms, work p99 {r['work']['p99_ms']:.2f} ms "
              f"max {r['work']['max_ms']:.2f} ms")
    if args.mode in ("soak", "all"):
        r = soak(args.frames or 1_000_000)
        results["soak"] = r
        print(f"soak at {r['size'][0]}x{r['size'][1]}: {r['frames']} frames, mean {r['mean_ms']:.3f} ms, "
              f"longest {r['longest_ms']:.2f} ms, RSS {r['rss_mb_after_warmup']:.1f} -> {r['rss_mb_last']:.1f} MB "
              f"(drift {r['rss_drift_mb']:.2f} MB), {r['jumps']} jumps")
    if args.out:
        with open(args.out, "w") as handle:
            json.dump(results, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

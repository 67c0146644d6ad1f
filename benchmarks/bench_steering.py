"""Steering benchmark: a course of 20 seeded targets, future costs vs greedy vs no control, and
the frame cost of 10 steered sprites composited at 720p.

    .venv/bin/python -m benchmarks.bench_steering [--clip ../shared/clips/fish_school_on_black_596x336.mp4]
        [--spacing 5] [--seed 0] [--out out/bench_steering.json]

Figures per mode (computed like ../shared/tools/quality.py's `steer`, whose goal is a mean angle
<= 25 deg and >= 90% of targets reached within 5 s at 40 px):
- mean_angle_deg: angle between the sprite's velocity and the direction to its target, over
  frames farther than 40 px from it;
- share_reached: targets reached (within 40 px) within 5 s of being set;
- jumps_per_s and jump visibility: the RMS step between consecutive shown sprite frames (RGBA
  premultiplied, 64 px) at jumps, as a multiple of the clip's median natural step (p95, max),
  as quality.py measures jumps in play logs;
- stalls_per_min: frames where the sprite crawls below 25% of the clip's median speed though
  its target is more than 40 px away.
Courses: "uniform" (targets anywhere on the background) and "reachable" (issue 14's goal: each
target at most 3 s of the subject's natural speed from the one before, at the display scale;
goal: mean angle <= 25 deg, >= 90% reached).
Frame cost: median and p95 ms of one output frame with 10 sprites of one texture chasing one
target and keeping apart (steer with neighbours + composite at 1280x720), the quietest of 3 runs;
goal <= 8 ms.
The scale is `steer`'s default (1.2 for the fish, 2 for a clip, at most a third of 720 px tall).
Timings are noisy on a shared machine; run it alone for figures to quote.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._util import write_results
from engine.sprite import (Sprite, SpriteState, SpriteTexture, SteeringConfig, composite, default_scale,
                           sprite_for, steer_course)
from precompute.control import sprite_features


def course(seed: int, *, count: int = 20, spacing_s: float = 5.0, size=(1280, 720), margin: int = 60):
    """`count` targets, one every `spacing_s` seconds, uniform in the background (seeded)."""
    rng = np.random.default_rng(seed)
    return [{"t": k * spacing_s, "x": float(rng.uniform(margin, size[0] - margin)),
             "y": float(rng.uniform(margin, size[1] - margin))} for k in range(count)]


def reachable_course(seed: int, natural_px_s: float, *, count: int = 20, spacing_s: float = 5.0,
                     size=(1280, 720), margin: int = 60, start=(640.0, 360.0), reach_s: float = 3.0):
    """`count` targets `spacing_s` apart, each 1..`reach_s` s of the natural speed from the one
    before (the first from `start`), inside the background (seeded)."""
    rng = np.random.default_rng(seed)
    here = np.array(start, float)
    out = []
    low, high = np.array([margin, margin], float), np.array([size[0] - margin, size[1] - margin], float)
    for k in range(count):
        for _ in range(1000):  # a direction and distance that stays inside
            angle = rng.uniform(0, 2 * np.pi)
            distance = rng.uniform(1.0, reach_s) * natural_px_s
            point = here + distance * np.array([np.cos(angle), np.sin(angle)])
            if (point >= low).all() and (point <= high).all():
                break
        else:
            point = np.clip(point, low, high)
        out.append({"t": k * spacing_s, "x": float(point[0]), "y": float(point[1])})
        here = point
    return out


def steer_measure(log: list[dict], fps: float, reach_px: float = 40.0, window_s: float = 5.0) -> dict:
    """The same measure as ../shared/tools/quality.py `steer` (kept identical on purpose)."""
    errors, reached, first_seen = [], {}, {}
    for k, f in enumerate(log):
        key = (round(f["target_x"], 1), round(f["target_y"], 1))
        first_seen.setdefault(key, k)
        dx, dy = f["target_x"] - f["x"], f["target_y"] - f["y"]
        distance = (dx * dx + dy * dy) ** 0.5
        if distance < reach_px:
            if key not in reached and (k - first_seen[key]) / fps <= window_s:
                reached[key] = k
            continue
        speed = (f["vx"] ** 2 + f["vy"] ** 2) ** 0.5
        if speed < 1e-6:
            errors.append(180.0)
            continue
        c = (f["vx"] * dx + f["vy"] * dy) / (speed * distance)
        errors.append(float(np.degrees(np.arccos(np.clip(c, -1, 1)))))
    return {"mean_angle_deg": float(np.mean(errors)) if errors else 0.0,
            "share_reached": len(reached) / max(1, len(first_seen))}


def jump_visibility(log: list[dict], texture: SpriteTexture, features: np.ndarray, median_step: float) -> dict:
    frames = np.array([f["frame"] for f in log])
    jump = np.diff(frames) != 1
    jump |= ~texture.sprite.has_successor[frames[:-1]]
    steps = np.sqrt(np.mean((features[frames[1:]] - features[frames[:-1]]) ** 2, axis=1)) / median_step
    js = steps[jump]
    fps = texture.fps
    speed = np.hypot([f["vx"] for f in log], [f["vy"] for f in log])
    far = np.hypot([f["target_x"] - f["x"] for f in log], [f["target_y"] - f["y"] for f in log]) > 40
    slow = speed < 0.25 * texture.control.median_speed * log_scale(log, texture)
    return {"jumps_per_s": float(jump.sum() / len(log) * fps),
            "p95_jump_step_over_natural": float(np.percentile(js, 95)) if js.size else 0.0,
            "max_jump_step_over_natural": float(js.max()) if js.size else 0.0,
            "stalls_per_min": float((slow & far).sum() / len(log) * fps * 60)}


def log_scale(log, texture) -> float:
    f = log[0]
    v = texture.velocities[f["frame"]]
    n = float(np.hypot(*v))
    return float(np.hypot(f["vx"], f["vy"]) / n) if n > 1e-6 else 1.0


def frame_cost(texture, *, sprites: int = 10, frames: int = 240, size=(1280, 720), scale=1.2):
    """Per output frame: steer `sprites` sprites (with neighbours) and composite them. texture: one
    SpriteTexture, or a list (a sprite set's subjects: spread round robin, as `steer SET` does)."""
    from assets.fish import pond_background

    background = pond_background(*size)
    textures = list(texture) if isinstance(texture, (list, tuple)) else [texture]
    for shown in textures:
        shown.prepare(scale)  # as steer does before it plays
    rng = np.random.default_rng(1)
    group = []
    for k in range(sprites):
        shown = textures[k % len(textures)]
        group.append(Sprite(shown, SpriteState(x=float(rng.uniform(100, size[0] - 100)),
                                               y=float(rng.uniform(100, size[1] - 100)),
                                               frame=int(rng.integers(shown.n_frames)), scale=scale,
                                               rng=np.random.default_rng(k))))
    targets = rng.uniform([60, 60], [size[0] - 60, size[1] - 60], size=(frames // 60 + 1, 2))
    out = None
    times = []
    for k in range(frames):
        started = time.perf_counter()
        where = np.array([(sp.state.x, sp.state.y) for sp in group])  # (M, 2): neighbours, kept apart
        for n, sprite in enumerate(group):
            sprite.step(targets[k // 60], np.delete(where, n, axis=0))
        out = composite(background, group, out=out)
        times.append((time.perf_counter() - started) * 1000)
    times = np.array(times[20:])
    return {"sprites": sprites, "size": list(size), "median_ms": float(np.median(times)),
            "p95_ms": float(np.percentile(times, 95))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default=None, help="a clip or sprite folder (default: the embedded fish)")
    parser.add_argument("--spacing", type=float, default=5.0, help="seconds between targets")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--courses", type=int, default=3, help="seeded courses to average")
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--modes", default="future,greedy,random", help="comma-separated steering modes")
    parser.add_argument("--out", default="out/bench_steering.json")
    args = parser.parse_args(argv)
    sprite, control = sprite_for(args.clip)
    texture = SpriteTexture(sprite, control)
    preferred = 1.2 if args.clip is None else 2.0
    scale = args.scale if args.scale is not None else default_scale(texture, 720, preferred=preferred)
    features = sprite_features(sprite.rgba, feature_width=64) / np.float32(1.0)
    succ = np.flatnonzero(sprite.has_successor)
    natural = np.sqrt(np.mean((features[succ + 1] - features[succ]) ** 2, axis=1))
    median_step = float(np.median(natural[natural > 0]))
    natural_px_s = control.median_speed * texture.fps * scale
    results = {"clip": args.clip or "assets.fish", "frames": sprite.n_frames, "scale": scale,
               "natural_speed_px_s": natural_px_s, "spacing_s": args.spacing, "modes": {}}
    print(f"{results['clip']}: scale {scale:.2f}, natural speed {natural_px_s:.0f} px/s on the background")
    courses = {"uniform": lambda c: course(args.seed + c, spacing_s=args.spacing),
               "reachable": lambda c: reachable_course(args.seed + c, natural_px_s, spacing_s=args.spacing)}
    for mode in args.modes.split(","):
        for name, make in courses.items():
            rows = []
            for c in range(args.courses):
                targets = make(c)
                state = SpriteState(x=640.0, y=360.0, frame=0, scale=scale, rng=np.random.default_rng(args.seed + c))
                s = Sprite(texture, state, SteeringConfig(mode=mode))
                frames = int(round((targets[-1]["t"] + args.spacing) * texture.fps))
                log = steer_course(s, targets, frames=frames)
                rows.append({**steer_measure(log, texture.fps), **jump_visibility(log, texture, features, median_step)})
            key = mode if name == "uniform" else f"{mode}/{name}"
            results["modes"][key] = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
            m = results["modes"][key]
            goal = "  (goal <= 25 deg, >= 90%)" if name == "reachable" else ""
            print(f"{key:17s} mean angle {m['mean_angle_deg']:6.1f} deg  reached {100 * m['share_reached']:5.1f}%  "
                  f"jumps {m['jumps_per_s']:5.2f}/s  p95 jump {m['p95_jump_step_over_natural']:5.2f} x natural  "
                  f"stalls {m['stalls_per_min']:6.1f}/min{goal}")
    # best of 3 runs: the machine is shared, and the quietest run is the closest to the true cost
    runs = [frame_cost(texture, scale=scale) for _ in range(3)]
    results["frame_cost"] = min(runs, key=lambda r: r["median_ms"])
    results["frame_cost"]["median_ms_all_runs"] = [r["median_ms"] for r in runs]
    fc = results["frame_cost"]
    print(f"10 sprites at 1280x720 (keeping apart): {fc['median_ms']:.2f} ms median, {fc['p95_ms']:.2f} ms "
          f"p95 per frame; median / goal = {fc['median_ms'] / 8:.2f} (goal <= 8 ms; shared machine, noisy)")
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())

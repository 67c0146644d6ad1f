"""Sprites from real footage (issue 14): bounded memory on a large clip, and identity + steering on
the shared fish clip.

    .venv/bin/python -m benchmarks.bench_sprite_subjects [walker] [fish]
        [--fish-clip ../shared/clips/fish_school_on_black_596x336.mp4] [--subjects 3] [--scale 2]

walker: a synthetic 1280x720 green-screen walker of 354 frames (tests/sprites/subjects.py, written
  as an mp4 here), extracted by `framechain sprite` in a subprocess. Prints its peak RSS (goal
  <= 1 GB) and the sprite folder's size on disk (goal <= 150 MB).
fish: each of the `--subjects` longest-seen subjects of the fish clip (`sprite --subject k`), as
  extracted by default and with `--mirror` (left-right mirrored frames added),
  steered through 3 seeded 20-target courses whose targets lie within reach (5 s apart, each at
  most 3 s of the subject's natural speed, at the display scale, from the one before). Prints
  - identity: the mean colour (alpha-weighted RGB) change between consecutive played sprite frames,
    p99 over the played steps, as a multiple of the p99 natural frame-to-frame change of the
    subject's own footage (goal <= 2x: no played transition joins two different subjects);
  - steering, measured like ../shared/tools/quality.py `steer`: mean angle (goal <= 25 deg) and
    share of targets reached within 5 s at 40 px (goal >= 90%).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._util import write_results

ROOT = Path(__file__).resolve().parents[1]
FISH = ROOT.parent / "shared" / "clips" / "fish_school_on_black_596x336.mp4"
WALKER_FRAMES = 354


def _folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def walker(workdir: Path) -> dict:
    from precompute.video_io import open_writer
    from tests.sprites.subjects import WALKER_SIZE, walker_frame

    clip = workdir / "walker.mp4"
    started = time.perf_counter()
    with open_writer(clip, fps=30, size=(WALKER_SIZE[1], WALKER_SIZE[0])) as writer:
        for t in range(WALKER_FRAMES):
            writer.write(walker_frame(t))
    made_s = time.perf_counter() - started
    out = workdir / "walker.sprite"
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "engine.cli", "sprite", str(clip), "-o", str(out), "--quiet"],
                         cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"framechain sprite failed: {run.stderr.strip()[-2000:]}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # kB on Linux
    manifest = json.loads((out / "manifest.json").read_text())
    result = {"frames": WALKER_FRAMES, "size": list(WALKER_SIZE[::-1]), "peak_rss_mb": round(peak_mb, 1),
              "disk_mb": round(_folder_mb(out), 1), "sprite_npz_mb": round((out / "sprite.npz").stat().st_size / 1e6, 1),
              "sprite_frames": manifest["frames"], "registered_side": manifest["size"],
              "extract_s": round(seconds, 1), "clip_made_s": round(made_s, 1)}
    print(f"walker 1280x720 x {WALKER_FRAMES}: peak RSS {result['peak_rss_mb']:.0f} MB (goal <= 1024, "
          f"ratio {result['peak_rss_mb'] / 1024:.2f}), on disk {result['disk_mb']:.1f} MB (goal <= 150, "
          f"ratio {result['disk_mb'] / 150:.2f}); sprite.npz {result['sprite_npz_mb']:.1f} MB, "
          f"{result['sprite_frames']} frames, side {result['registered_side']}, {seconds:.0f} s")
    return result


def reach_course(seed: int, *, speed_px_s: float, count: int = 20, spacing_s: float = 5.0,
                 size=(1280, 720), margin: int = 60) -> list[dict]:
    """`count` targets `spacing_s` apart; each at most 3 s of the subject's natural speed
    (background px/s) from the one before, inside the background (the first from the centre)."""
    rng = np.random.default_rng(seed)
    reach = 3.0 * speed_px_s
    x, y = size[0] / 2, size[1] / 2
    targets = []
    for k in range(count):
        for _ in range(100):  # a point within reach and inside the margins
            angle = rng.uniform(0, 2 * np.pi)
            distance = rng.uniform(0.4, 1.0) * reach
            nx, ny = x + distance * np.cos(angle), y + distance * np.sin(angle)
            if margin <= nx <= size[0] - margin and margin <= ny <= size[1] - margin:
                break
        x, y = nx, ny
        targets.append({"t": k * spacing_s, "x": float(x), "y": float(y)})
    return targets


def identity_ratio(frames_played: np.ndarray, colours: np.ndarray, has_successor: np.ndarray) -> dict:
    """p99 of the mean-colour change between consecutive played frames over the p99 natural one."""
    rows = np.flatnonzero(has_successor)
    natural = np.linalg.norm(colours[rows + 1] - colours[rows], axis=1)
    shown = frames_played
    played = np.linalg.norm(colours[shown[1:]] - colours[shown[:-1]], axis=1)
    played = played[shown[1:] != shown[:-1]]
    nat99 = float(np.percentile(natural, 99))
    return {"natural_p99": round(nat99, 3), "played_p99": round(float(np.percentile(played, 99)), 3),
            "played_max": round(float(played.max()), 3),
            "p99_over_natural_p99": round(float(np.percentile(played, 99)) / max(nat99, 1e-6), 3)}


def fish(clip: Path, subjects: int, scale: float, mirror: bool) -> dict:
    from benchmarks.bench_steering import steer_measure
    from engine.sprite import Sprite, SpriteState, SpriteTexture, SteeringConfig, steer_course
    from precompute.control import analyze_control, frame_colours, sprite_features
    from precompute.sprites import ExtractionConfig, extract_sprites
    from precompute.video_io import open_clip

    with open_clip(clip) as reader:
        fps = reader.info.fps

    def frames():
        with open_clip(clip) as reader:
            yield from reader

    started = time.perf_counter()
    sprites = extract_sprites(frames, fps=fps, config=ExtractionConfig(mirror=mirror), every=True)[:subjects]
    print(f"fish {'(default: mirrored)' if mirror else '--no-mirror'}: {len(sprites)} subjects extracted in "
          f"{time.perf_counter() - started:.1f} s ({sprites[0].info['subjects']} seen whole)")
    results = []
    for sprite in sprites:
        control = analyze_control(sprite)
        texture = SpriteTexture(sprite, control)
        colours = frame_colours(sprite_features(sprite, feature_width=64))
        speed_px_s = control.median_speed * sprite.fps * scale
        rows = []
        for seed in range(3):
            course = reach_course(seed, speed_px_s=speed_px_s)
            state = SpriteState(x=640.0, y=360.0, frame=0, scale=scale, rng=np.random.default_rng(seed))
            log = steer_course(Sprite(texture, state, SteeringConfig()), course,
                               frames=int(round((course[-1]["t"] + 5.0) * sprite.fps)))
            played = np.array([f["frame"] for f in log])
            rows.append({**steer_measure(log, sprite.fps), **identity_ratio(played, colours, sprite.has_successor)})
        summary = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
        summary["p99_over_natural_p99_worst"] = max(r["p99_over_natural_p99"] for r in rows)
        summary.update(subject=sprite.info["subject"], frames=sprite.n_frames, natural_speed_px_s=speed_px_s / scale)
        results.append(summary)
        print(f"  subject {summary['subject']} ({sprite.n_frames} frames, {speed_px_s / scale:.0f} px/s): identity "
              f"p99 colour step {summary['played_p99']:.2f} vs natural p99 {summary['natural_p99']:.2f} = "
              f"{summary['p99_over_natural_p99']:.2f}x (worst course {summary['p99_over_natural_p99_worst']:.2f}x; "
              f"goal <= 2x); steering {summary['mean_angle_deg']:.1f} deg (goal <= 25), "
              f"{100 * summary['share_reached']:.0f}% reached (goal >= 90%)")
    return {"clip": str(clip), "scale": scale, "mirror": mirror, "subjects": results}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["walker", "fish"], choices=["walker", "fish"])
    parser.add_argument("--fish-clip", default=str(FISH))
    parser.add_argument("--subjects", type=int, default=3, help="how many of the longest-seen fish")
    parser.add_argument("--scale", type=float, default=2.0, help="display scale of the steered fish")
    parser.add_argument("--out", default="out/bench_sprite_subjects.json")
    args = parser.parse_args(argv)
    results = {}
    if "walker" in args.parts:
        with tempfile.TemporaryDirectory(prefix="bench-walker-") as folder:
            results["walker"] = walker(Path(folder))
    if "fish" in args.parts:
        if not Path(args.fish_clip).exists():
            print(f"fish: {args.fish_clip} is missing; skipped")
        else:
            for mirror in (False, True):  # --no-mirror, and as `framechain sprite` makes a fish (mirrored)
                results["fish" + ("_mirror" if mirror else "")] = fish(Path(args.fish_clip), args.subjects,
                                                                       args.scale, mirror)
    write_results(args.out, results)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    sys.exit(main())

"""`framechain info CLIP_OR_ANALYSIS`: frames, sizes, links, best jumps, cost statistics.

`framechain info SPRITE` (a folder `framechain sprite` wrote): frames, segments, size, and whether
the subject moves in place (a walk cycle: its period and ground speed, precompute/gait.py)."""
from __future__ import annotations

import json

import numpy as np

from engine.commands._common import add_analysis_arguments, open_analysis

NAME = "info"
HELP = "describe a clip's analysis: frames, fps, sizes, links, best jumps, cost statistics"


def add_arguments(parser):
    parser.add_argument("path", metavar="CLIP_OR_ANALYSIS")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--best", type=int, default=10, help="how many best jumps to list")
    add_analysis_arguments(parser)


def describe(analysis, best: int = 10) -> dict:
    offsets = analysis.link_offsets
    targets = analysis.link_targets
    sources = np.repeat(np.arange(analysis.n_frames), np.diff(offsets))
    jumps = targets != sources + 1
    order = np.argsort(analysis.link_visual_costs[jumps])[:best]
    stats = dict(analysis.stats)
    median = stats.get("median_natural_step") or 1.0
    return {
        "analysis": str(analysis.path),
        "source": analysis.source.get("path"),
        "frames": analysis.n_frames,
        "fps": analysis.fps,
        "source_size": [analysis.source.get("width"), analysis.source.get("height")],
        "store_size": list(analysis.frame_size),
        "links": analysis.n_links,
        "jump_links": int(jumps.sum()),
        "links_per_frame": round(analysis.n_links / analysis.n_frames, 2),
        "playable_frames": stats.get("playable_frames"),
        "excluded_frames": stats.get("excluded_frames", []),
        "jump_rate_per_s": stats.get("jump_rate_per_s"),
        "suggested_transition": stats.get("suggested_transition"),
        "best_jumps": [
            {"from": int(sources[jumps][k]), "to": int(targets[jumps][k]),
             "cost": round(float(analysis.link_visual_costs[jumps][k]), 4),
             "cost_in_natural_steps": round(float(analysis.link_visual_costs[jumps][k]) / median, 3),
             "probability": round(float(analysis.link_probabilities[jumps][k]), 4)}
            for k in order],
        "stats": stats,
        "config": analysis.config.to_dict(),
    }


def sprite_gait(sprite) -> dict:
    """The in-place / gait figures of a SpriteClip, for --json."""
    from precompute.gait import analyze_gait

    gait = analyze_gait(sprite)
    return {"in_place": gait.in_place, "walks": gait.walks,
            "centroid_speed_px_s": round(gait.centroid_speed * sprite.fps, 2),
            "body_motion_px_s": round(gait.body_speed * sprite.fps, 2),
            "gait_period_frames": None if gait.period_frames is None else round(gait.period_frames, 2),
            "ground_speed_px_s": None if gait.ground_speed is None else round(gait.ground_speed * sprite.fps, 2),
            "facing": "right" if gait.facing > 0 else "left", "_gait": gait}


def sprite_gait_lines(gait_info: dict, fps: float) -> list[str]:
    """The `info SPRITE` line on moving in place (one line)."""
    from precompute.gait import describe_gait

    return [f"gait      {describe_gait(gait_info['_gait'], fps)}"]


def _run_sprite(args) -> int:
    from precompute.control import load_sprite

    sprite, control, manifest = load_sprite(args.path)
    gait = sprite_gait(sprite)
    info = {"sprite": str(args.path), "frames": sprite.n_frames, "fps": sprite.fps, "size": sprite.size,
            "segments": int(len(np.unique(sprite.segments))), "control": control is not None,
            "source": (manifest.get("source") or {}).get("path"),
            "gait": {k: v for k, v in gait.items() if not k.startswith("_")}}
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"sprite    {info['sprite']}\nsource    {info['source']}")
    print(f"frames    {info['frames']} at {info['fps']:g} fps in {info['segments']} segments, "
          f"{info['size']} px square; control tables: {'yes' if info['control'] else 'no'}")
    for line in sprite_gait_lines(gait, sprite.fps):
        print(line)
    return 0


def run(args) -> int:
    from precompute.control import is_sprite

    if is_sprite(args.path):
        return _run_sprite(args)
    analysis = open_analysis(args.path, args)
    info = describe(analysis, args.best)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"analysis  {info['analysis']}\nsource    {info['source']}")
    print(f"frames    {info['frames']} at {info['fps']:g} fps; source {info['source_size'][0]}x"
          f"{info['source_size'][1]}, store {info['store_size'][0]}x{info['store_size'][1]}")
    s = info["stats"]
    print(f"links     {info['links']} ({info['jump_links']} jumps, {info['links_per_frame']} per frame)")
    print(f"costs     median natural step {s.get('median_natural_step', 0):.3f}, mean cost "
          f"{s.get('mean_cost', 0):.3f}, sigma {s.get('sigma', 0):.3f} (RMS units, 0..255)")
    print(f"future    {s.get('future_cost_passes')} passes, converged {s.get('future_cost_converged')}")
    if info["playable_frames"] is not None:
        excluded = ", ".join(f"{a}-{b}" if a != b else f"{a}" for a, b in info["excluded_frames"])
        why = (" (never entered: play starts at the first playable frame)"
               if excluded else "")
        print(f"play      {info['playable_frames']} playable frames, one closed class (no traps); "
              f"excluded: {excluded or 'none'}{why}")
        relaxed = s.get("visibility_relaxed_by", 1.0)
        relaxed = ("no bound (no jump stays within --max-jump-cost)" if relaxed is None
                   else f"{relaxed:g}x --max-jump-cost")
        cycle = "; the clip is one whole cycle (its seam plays as a natural step)" if s.get("cyclic") else ""
        print(f"jumps     {info['jump_rate_per_s']:.2f} per second of play; cost limit {relaxed}"
              f"{cycle}; suggested transition "
              f"{info['suggested_transition']} (crossfade ghost estimate "
              f"{s.get('crossfade_ghost_estimate', 0):.2f} natural steps)")
    print("best jumps (from -> to: cost in natural steps, probability)")
    for j in info["best_jumps"]:
        print(f"  {j['from']:6d} -> {j['to']:6d}: {j['cost_in_natural_steps']:.2f}, p={j['probability']:.3f}")
    return 0

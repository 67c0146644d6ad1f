"""`framechain info CLIP_OR_ANALYSIS`: frames, sizes, links, best jumps, cost statistics."""
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
        "store": {"kind": analysis.store_kind, "bytes": analysis.store_bytes,
                  **{k: v for k, v in analysis.manifest.get("store", {}).items()
                     if k in ("codec", "crf", "gop")}},
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


def _size_text(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def run(args) -> int:
    analysis = open_analysis(args.path, args)
    info = describe(analysis, args.best)
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"analysis  {info['analysis']}\nsource    {info['source']}")
    print(f"frames    {info['frames']} at {info['fps']:g} fps; source {info['source_size'][0]}x"
          f"{info['source_size'][1]}, store {info['store_size'][0]}x{info['store_size'][1]}")
    store = info["store"]
    kind = ("raw uint8 frames (frames.u8)" if store["kind"] == "raw" else
            f"proxy, {store.get('codec', 'h264')} with a key frame every {store.get('gop')} frames "
            "(frames.proxy)")
    print(f"store     {kind}, {_size_text(store['bytes'])}")
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

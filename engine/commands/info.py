"""`framechain info CLIP_OR_ANALYSIS_OR_SPRITE`: frames, sizes, links, best jumps, cost statistics.

For a sprite folder (`framechain sprite`): its frames and subject, the subject's natural speed
(px/s) and the directions its footage covers (a rose of velocities in 8 sectors, frames in each).
A folder of sprites (`sprite --all`) is described sprite by sprite. Whether the subject moves in
place (a walk cycle: its period and ground speed, precompute/gait.py) is said on the gait line."""
from __future__ import annotations

import json

import numpy as np

from engine.commands._common import add_analysis_arguments, open_analysis

NAME = "info"
HELP = "describe a clip's analysis (frames, links, best jumps, costs) or a sprite (speed, directions)"


def add_arguments(parser):
    parser.add_argument("path", metavar="CLIP_OR_ANALYSIS_OR_SPRITE")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--best", type=int, default=10, help="how many best jumps to list")
    add_analysis_arguments(parser)


def _audio(analysis) -> dict:
    """The sound kept with the analysis (issue 18): {"present", "text", rate, ...}."""
    from precompute.bundle import audio_note

    entry = analysis.manifest.get("audio") or {}
    present = entry.get("file") is not None
    info = {"present": present, "text": audio_note(analysis)}
    if present:
        info.update(rate=entry["rate"], channels=entry["channels"], samples=entry["samples"],
                    seconds=round(entry["samples"] / entry["rate"], 4), source=entry.get("source"))
    return info


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
        "audio": _audio(analysis),
        "best_jumps": [
            {"from": int(sources[jumps][k]), "to": int(targets[jumps][k]),
             "cost": round(float(analysis.link_visual_costs[jumps][k]), 4),
             "cost_in_natural_steps": round(float(analysis.link_visual_costs[jumps][k]) / median, 3),
             "probability": round(float(analysis.link_probabilities[jumps][k]), 4)}
            for k in order],
        "stats": stats,
        "config": analysis.config.to_dict(),
    }


# --- sprites (issue 14) --------------------------------------------------------------------------
ROSE_SECTORS = ("E", "SE", "S", "SW", "W", "NW", "N", "NE")  # image axes: y down, so S is down
STILL_SHARE = 0.25  # a frame slower than this share of the median speed heads nowhere: "still"


def sprite_motion(sprite) -> dict:
    """The subject's natural speed and the directions its footage covers, from its velocities
    (source px per frame): {"natural_speed_px_s": median speed, "speed_p10_px_s", "speed_p90_px_s",
    "rose": {sector: frames heading within 22.5 deg of it}, "still": frames too slow to head
    anywhere, "covered": sectors with at least one frame}."""
    v = np.asarray(sprite.velocities, np.float64)
    speed = np.hypot(v[:, 0], v[:, 1])  # px/frame
    median = float(np.median(speed))
    moving = speed >= STILL_SHARE * median if median > 0 else np.zeros(len(speed), bool)
    angle = np.arctan2(v[moving, 1], v[moving, 0])  # image axes, 0 = right, pi/2 = down
    sector = np.round(angle / (2 * np.pi / 8)).astype(int) % 8
    counts = np.bincount(sector, minlength=8)
    fps = float(sprite.fps)
    return {"natural_speed_px_s": round(median * fps, 2),
            "speed_p10_px_s": round(float(np.percentile(speed, 10)) * fps, 2),
            "speed_p90_px_s": round(float(np.percentile(speed, 90)) * fps, 2),
            "rose": {name: int(counts[k]) for k, name in enumerate(ROSE_SECTORS)},
            "still": int((~moving).sum()), "covered": int((counts > 0).sum())}


def sprite_motion_lines(sprite) -> list[str]:
    """The text lines of `sprite_motion`: speed, then the rose."""
    m = sprite_motion(sprite)
    rose = "  ".join(f"{name} {count}" for name, count in m["rose"].items())
    missing = [name for name, count in m["rose"].items() if count == 0]
    lines = [f"speed     natural {m['natural_speed_px_s']:.1f} px/s (median; p10-p90 "
             f"{m['speed_p10_px_s']:.1f}-{m['speed_p90_px_s']:.1f} px/s), source px: on screen times "
             "the display scale",
             f"headings  {rose}  (frames per direction, N = up; still {m['still']})"]
    if missing:
        lines.append(f"          no footage heads {', '.join(missing)}: steering that way turns "
                     "sideways or jumps (--mirror adds the left-right mirror)")
    return lines


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


def describe_sprite(path) -> tuple[dict, list[str]]:
    """(JSON-able description, text lines) of a sprite folder."""
    from precompute.control import load_sprite

    sprite, control, manifest = load_sprite(path)
    info = sprite.info
    colour = info.get("subject_colour")
    data = {"sprite": str(path), "source": (manifest.get("source") or {}).get("path"),
            "frames": sprite.n_frames, "fps": sprite.fps, "size": sprite.size,
            "segments": int(len(np.unique(sprite.segments))), "subject": info.get("subject"),
            "subjects": info.get("subjects"), "subject_colour": colour,
            "links": None if control is None else int(control.link_targets.shape[0]),
            **sprite_motion(sprite)}
    gait = sprite_gait(sprite)
    data["gait"] = {k: v for k, v in gait.items() if not k.startswith("_")}
    subject = ""
    if data["subject"] is not None:
        subject = f"; subject {data['subject']} of {data['subjects']} seen whole"
        if colour:
            subject += f", colour {tuple(int(round(c)) for c in colour)}"
    lines = [f"sprite    {data['sprite']}\nsource    {data['source']}",
             f"frames    {data['frames']} at {data['fps']:g} fps, {data['size']}x{data['size']} registered, "
             f"{data['segments']} segments{subject}"]
    lines += sprite_motion_lines(sprite)
    lines += sprite_gait_lines(gait, sprite.fps)
    if control is not None:
        lines.append(f"control   {data['links']} links, {len(control.directions)} directions x "
                     f"{len(control.speeds)} speeds")
    return data, lines


def _run_sprite(args) -> int:
    from pathlib import Path

    from precompute.control import is_sprite_set, sprite_set_folders

    path = Path(args.path)
    folders = sprite_set_folders(path) if is_sprite_set(path) else [path]  # a set: checked, one line if bad
    described = [describe_sprite(folder) for folder in folders]
    if args.json:
        print(json.dumps(described[0][0] if len(described) == 1 and folders[0] == path
                         else {"sprites": [d for d, _ in described]}, indent=1))
        return 0
    for k, (_, lines) in enumerate(described):
        if k:
            print()
        print("\n".join(lines))
    return 0


def _is_sprite_or_set(path: str) -> bool:
    from precompute.control import is_sprite, is_sprite_set

    return is_sprite(path) or is_sprite_set(path)
def _size_text(size: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def run(args) -> int:
    if _is_sprite_or_set(args.path):
        return _run_sprite(args)
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
    print(f"audio     {info['audio']['text']}")
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
        print(f"  {j['from']:6d} -> {j['to']:6d}: {j['cost_in_natural_steps']:.2f}, p={j['probability']:.2g}")
    return 0

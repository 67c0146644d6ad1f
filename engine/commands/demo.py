"""`framechain demo`: the main job on the embedded candle.

Generates the procedural candle (once), analyses it (cached), and then plays it in a window when
a display exists; with no display (or --headless) it exports a seamless loop as mp4 and gif and
says where they went. Also writes the analysis plot beside them.
"""
from __future__ import annotations

import os
from pathlib import Path

NAME = "demo"
HELP = "analyse the embedded procedural candle and play it (no display: export seamless loops)"


def add_arguments(parser):
    parser.add_argument("--headless", action="store_true", help="export instead of opening a window")
    from engine.commands._common import add_output_arguments

    add_output_arguments(parser, default="out", metavar="FOLDER",
                         help="folder for the exported loops (default: ./out)")
    parser.add_argument("--seconds", type=float, default=6.0, help="length of the exported loop")


def has_display() -> bool:
    if os.environ.get("SDL_VIDEODRIVER") in ("dummy", "offscreen"):
        return False
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run(args) -> int:
    from assets.candle import ensure_candle_clip
    from engine.commands.info import describe
    from engine.commands.plot import plot_analysis
    from precompute.analysis import analysis_for

    from engine.commands._common import output_plan

    out = Path(args.output)
    if out.exists() and not out.is_dir():
        from precompute.errors import ConfigError

        raise ConfigError(f"-o {out}: is a file; give a folder for the demo's loops")
    out.mkdir(parents=True, exist_ok=True)
    plan = output_plan(args)
    for name in ("candle_analysis.png", "candle_loop.mp4", "candle_loop.gif"):
        plan.add("-o", out / name)
    plan.check()  # a file of the user's with one of these names is not replaced without --force
    clip = ensure_candle_clip()
    print(f"candle clip: {clip}")
    analysis = analysis_for(clip, progress=not args.quiet)
    info = describe(analysis, best=3)
    print(f"analysis: {info['analysis']} ({info['frames']} frames, {info['links']} links, "
          f"{info['jump_links']} jumps)")
    print(f"plot: {plot_analysis(analysis, out / 'candle_analysis.png')}")
    if has_display() and not args.headless:
        from engine.player import PlayerConfig, play
        from engine.texture import VideoTexture
        from engine.window import WindowConfig

        print("playing the candle: F1 lists the keys, Esc quits")
        result = play(VideoTexture.from_analysis(analysis),
                      config=PlayerConfig(window=WindowConfig(title="framechain - candle",
                                                              size=(640, 720))))
        print(f"played {result.played} frames, {result.jumps} jumps")
        return 0
    from engine.export import export_loop

    print("no display: exporting seamless loops instead")
    for suffix in (".mp4", ".gif"):
        result = export_loop(analysis, out / f"candle_loop{suffix}", seconds=args.seconds,
                             progress=not args.quiet)
        print(f"seamless loop: {result}")
    return 0

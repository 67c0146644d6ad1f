"""Demo: the embedded candle played as an endless video texture.

The candle clip (assets/candle.py, generated in code) is analysed once (cached), then played in
the player window: the flame never repeats the clip's order, jumps are crossfaded over 4
frames, and the sliders change speed, variety and the frame range live. F1 lists the keys.

    python -m demos.candle                       # a window (needs a display)
    python -m demos.candle --headless --frames 300 --log play.json
    python -m demos.candle --frames 90 --overlay --screenshot docs/img/player.png
"""
from __future__ import annotations

import argparse
import sys

from engine.player import PlayerConfig, play, write_play_log
from engine.playback import PlaybackConfig
from engine.texture import VideoTexture
from engine.window import WindowConfig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="the candle as an endless video texture")
    parser.add_argument("--headless", action="store_true", help="no window (SDL dummy driver)")
    parser.add_argument("--frames", type=int, help="stop after N frames (default: until closed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overlay", action="store_true", help="start with the status overlay on")
    parser.add_argument("--help-overlay", action="store_true", help="start with the key list shown")
    parser.add_argument("--screenshot", metavar="PNG", help="save the window at the last frame")
    parser.add_argument("--log", metavar="play.json", help="write the play log")
    args = parser.parse_args(argv)
    if args.headless and args.frames is None:
        parser.error("--headless needs --frames N")

    from assets.candle import ensure_candle_clip
    from precompute import analysis_for

    clip = ensure_candle_clip()
    texture = VideoTexture.from_analysis(analysis_for(clip))
    last = (args.frames or 0) - 1

    def on_frame(index, blend, window):
        if index == 0 and args.help_overlay:
            window.help_visible = True
        if args.screenshot and index == last:
            window.screenshot(args.screenshot)

    config = PlayerConfig(frames=args.frames, headless=args.headless, keep_log=bool(args.log),
                          window=WindowConfig(title="framechain - candle", show_overlay=args.overlay,
                                              size=(640, 720) if not args.headless else None))
    result = play(texture, playback=PlaybackConfig(seed=args.seed), config=config, on_frame=on_frame)
    if args.log:
        write_play_log(args.log, result, source=str(clip), fps=texture.fps)
    print(f"played {result.played} frames, {result.jumps} jumps")
    return 0


if __name__ == "__main__":
    sys.exit(main())

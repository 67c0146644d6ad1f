"""`framechain hyperlapse CLIP -o OUT --speedup V [--size WxH] [--log play.json] [--stabilize]`:
a smooth fast-forward of a long hand-held clip by optimal frame selection (issue 17)."""
from __future__ import annotations

import math
import sys

NAME = "hyperlapse"
HELP = ("a smooth fast-forward of a long hand-held clip: keeps the frames that align best at "
        "about V times the speed (Joshi et al. 2015), to .mp4, .webm, .gif, .png or a PNG folder")


def add_arguments(parser) -> None:
    from engine.commands._common import VIDEO_OUTPUT_HELP, add_output_arguments

    parser.add_argument("clip", metavar="CLIP", help="a video, GIF or image folder (read twice, "
                                                     "streaming: any length)")
    add_output_arguments(parser, required=True, aliases=("--out",),
                         help=VIDEO_OUTPUT_HELP)
    parser.add_argument("--speedup", type=float, required=True, metavar="V",
                        help="target speed-up: about one frame in V is kept (1 to 16)")
    parser.add_argument("--size", metavar="WxH", help="output size, e.g. 640x360 (default: the clip's)")
    parser.add_argument("--log", metavar="play.json",
                        help="also write the play log of the chosen frames (JSON)")
    parser.add_argument("--stabilize", action="store_true",
                        help="smooth the camera motion left on the chosen frames by warping "
                             "them (similarities from the frame matching; crops 10%% each side)")
    parser.add_argument("--naive", action="store_true",
                        help="write every V-th frame instead (the baseline, for comparison)")
    parser.add_argument("--input-fps", type=float, default=None, metavar="F",
                        help="frame rate of an image folder (default 30), or an override of a video's")
    parser.add_argument("--allow-truncated", action="store_true",
                        help="use the frames that decode of a damaged or cut-short video")


def run(args) -> int:
    from engine.commands._common import check_output_size, output_plan, require_output
    from engine.export import parse_size
    from precompute.errors import ConfigError
    from precompute.files import check_input
    from precompute.video_io import WRITER_SUFFIXES, open_clip, writer_kind

    require_output(args)
    writer_kind(args.output)  # a bad extension fails before any work (and before numba loads)
    size = parse_size(args.size)
    plan = output_plan(args, args.clip)
    plan.add("-o", args.output, kind="video", suffixes=tuple(WRITER_SUFFIXES))
    plan.add("--log", args.log, suffixes=(".json",))
    check_input(args.clip)
    plan.check()  # every output, before the first decode
    with open_clip(args.clip, fps=args.input_fps, allow_truncated=args.allow_truncated) as reader:
        info = reader.info
    from precompute.hyperlapse import HyperlapseConfig

    config = HyperlapseConfig()
    if args.speedup > config.max_speedup():
        raise ConfigError(f"--speedup must be in [1, {config.max_speedup():g}] (the selection "
                          f"window is {config.window_frames} frames), got {args.speedup:g}")
    width, height = size or (info.width, info.height)
    expected = math.ceil(max(1, info.frame_count_hint) / args.speedup)
    check_output_size(expected, width, height, force=args.force,
                      what=f"-o {args.output} --speedup {args.speedup:g}")
    from engine.hyperlapse import make_hyperlapse

    try:
        result = make_hyperlapse(args.clip, args.output, speedup=args.speedup, config=config,
                                 size=size, log=args.log, stabilize=args.stabilize,
                                 naive=args.naive, input_fps=args.input_fps,
                                 allow_truncated=args.allow_truncated, progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"framechain: hyperlapse interrupted; {args.output} was not written "
              "(no partial file left)", file=sys.stderr)
        return 130
    which = "naive: every V-th frame" if result.naive else "selected"
    print(f"wrote {result.describe()}")
    print(f"{which}: mean step {result.mean_step:.2f} frames (asked {args.speedup:g}), "
          f"selection {result.selection_s:.1f} s = "
          f"{result.n_input_frames / max(result.selection_s, 1e-9):.0f} input frames/s")
    print(f"estimated jitter {_px(result.jitter_px)} at 256 px wide (naive every-{args.speedup:g}th "
          f"frame: {_px(result.naive_jitter_px)}, {result.mismatched_share:.0%} of its steps "
          f"misaligned); cost {result.cost:.0f} (naive {result.naive_cost:.0f})"
          + ("; stabilised" if result.stabilized else ""))
    if result.log_path is not None:
        print(f"play log: {result.log_path}")
    return 0


def _px(value: float) -> str:
    return "n/a" if value != value else f"{value:.2f} px"

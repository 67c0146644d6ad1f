"""`framechain export CLIP_OR_ANALYSIS -o OUT --seconds S`: a seamless loop or random play to a file."""
from __future__ import annotations

import sys

NAME = "export"
HELP = ("write a seamless loop (the best compound loop of about S seconds) or S seconds of random "
        "play to .mp4, .webm, .gif, .png (animated) or a folder of PNGs")


def add_arguments(parser) -> None:
    parser.add_argument("clip", metavar="CLIP_OR_ANALYSIS",
                        help="a video, GIF or image folder (analysed or taken from the cache), "
                             "or a saved analysis folder")
    from engine.commands._common import VIDEO_OUTPUT_HELP, add_analysis_arguments, add_output_arguments

    add_output_arguments(parser, required=True, aliases=("--out",),
                         help=VIDEO_OUTPUT_HELP)
    parser.add_argument("--seconds", type=float, required=True, metavar="S",
                        help="length: loop mode picks the best loop within 10%% of S")
    parser.add_argument("--mode", choices=("loop", "random"), default="loop",
                        help="loop: a seamless compound loop (default); random: random play")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random mode's seed (default 0)")
    parser.add_argument("--fade", type=int, default=4, metavar="K",
                        help="crossfade length in frames around each jump (default 4; 0 cuts)")
    from engine.renderers import transition_names

    parser.add_argument("--transitions", choices=transition_names(), default="crossfade",
                        help="how jumps are rendered (default crossfade)")
    parser.add_argument("--size", metavar="WxH", help="output size, e.g. 640x360 (default: the clip's)")
    parser.add_argument("--fps", type=float, metavar="F",
                        help="output frame rate (default: the clip's; frames are not resampled)")
    parser.add_argument("--log", metavar="play.json", help="also write the play log (JSON)")
    from engine.commands._common import add_audio_arguments

    add_audio_arguments(parser)
    add_analysis_arguments(parser, fps_alias=False)  # --fps here is the output rate


def run(args) -> int:
    from engine.commands._common import (audio_config, check_loop_length, check_output_size,
                                         open_analysis, output_plan, require_output)
    from precompute.video_io import WRITER_SUFFIXES, writer_kind

    require_output(args)
    writer_kind(args.output)  # a bad extension fails before the analysis (and before numba loads)
    plan = output_plan(args, args.clip)
    plan.add("-o", args.output, kind="video", suffixes=tuple(WRITER_SUFFIXES))
    plan.add("--log", args.log, suffixes=(".json",))
    plan.check()  # every output, before the analysis and the export
    from engine.export import ExportConfig, export_loop, export_random, parse_size

    config = ExportConfig(fade_frames=args.fade, transitions=args.transitions,
                          size=parse_size(args.size), fps=args.fps, seed=args.seed,
                          audio=audio_config(args))
    analysis = open_analysis(args.clip, args)
    fps = float(args.fps or analysis.fps)
    width, height = config.size or analysis.frame_size
    check_output_size(args.seconds * fps, width, height, force=args.force,
                      what=f"-o {args.output} --seconds {args.seconds:g}")
    if args.mode == "loop":
        check_loop_length(round(args.seconds * fps), force=args.force, what=f"--seconds {args.seconds:g}")
    export = export_loop if args.mode == "loop" else export_random
    try:
        result = export(analysis, args.output, seconds=args.seconds, config=config, log=args.log,
                        progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"framechain: export interrupted; {args.output} was not written "
              "(no partial file left)", file=sys.stderr)
        return 130
    for note in result.notes:
        print(note)
    if result.loop is not None:
        asked = round(args.seconds * result.fps)
        print(f"loop length: {result.frames} frames ({result.seconds:.2f} s; asked {asked} frames "
              f"= {args.seconds:g} s), {len(result.loop.jumps)} jumps, total cost "
              f"{result.loop.cost:.3f}")
    print(f"wrote {result.describe()}")
    if result.audio_samples:
        print(f"sound: {result.audio_samples} samples at {result.audio_rate} Hz "
              f"({result.audio_samples / result.audio_rate:.3f} s, as long as the picture), "
              f"crossfaded {args.audio_fade:g} ms at each jump")
    if result.log_path is not None:
        print(f"play log: {result.log_path}")
    return 0

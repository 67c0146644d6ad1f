"""`framechain analyze CLIP... [-o OUT]`: analyse clips into saved video textures."""
from __future__ import annotations

import sys
from pathlib import Path

from engine.commands._common import add_analysis_arguments, config_from_args

NAME = "analyze"
HELP = "analyse clips (video file, GIF or image folder) into saved video textures"


def add_arguments(parser):
    parser.add_argument("clips", nargs="+", metavar="CLIP", help="video file, animated GIF or image folder")
    parser.add_argument("-o", "--out", default=None,
                        help="analysis folder (one clip) or parent folder (several); default: the cache")
    parser.add_argument("--jobs", type=int, default=1, help="clips analysed in parallel on this machine")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address (tcp://HOST:PORT): analyse on that cluster")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_analysis_arguments(parser)


def _summary(analysis) -> str:
    s = analysis.stats
    w, h = analysis.frame_size
    return (f"{analysis.source.get('path')}: {analysis.n_frames} frames at {analysis.fps:g} fps, {w}x{h}; "
            f"{analysis.n_links} links ({s.get('jump_links')} jumps); future cost in "
            f"{s.get('future_cost_passes')} passes; {s['timings']['total_s']:.2f} s -> {analysis.path}")


def run(args) -> int:
    config = config_from_args(args)
    if len(args.clips) == 1 and args.jobs <= 1 and not args.scheduler:
        from precompute.analysis import analysis_for, analyze_clip

        if args.out:
            analysis = analyze_clip(args.clips[0], config, out=args.out, fps=args.fps,
                                    progress=not args.quiet)
        else:
            analysis = analysis_for(args.clips[0], config, fps=args.fps, progress=not args.quiet)
        print(_summary(analysis))
        return 0
    from precompute.batch import analyze_many  # issue 7: a process pool or a Dask cluster

    results = analyze_many([Path(c) for c in args.clips], config, jobs=args.jobs,
                           scheduler=args.scheduler, out_dir=args.out, fps=args.fps,
                           progress=not args.quiet)
    failed = 0
    for result in results:
        if result.ok:
            print(f"{result.path}: {result.n_frames} frames in {result.seconds:.1f} s -> {result.out}")
        else:
            failed += 1
            print(f"framechain: error: {result.error}", file=sys.stderr)
    if failed:
        print(f"framechain: {failed} of {len(results)} clips failed; the others were saved",
              file=sys.stderr)
    return 2 if failed else 0

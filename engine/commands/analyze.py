"""`framechain analyze CLIP... [-o OUT]`: analyse clips into saved video textures."""
from __future__ import annotations

import sys
from pathlib import Path

from precompute.errors import ConfigError

from engine.commands._common import (add_analysis_arguments, add_output_arguments, config_from_args,
                                     fewer_collections, output_plan)

NAME = "analyze"
HELP = "analyse clips (video file, GIF or image folder) into saved video textures"


def add_arguments(parser):
    parser.add_argument("clips", nargs="+", metavar="CLIP", help="video file, animated GIF or image folder")
    add_output_arguments(parser, help="analysis folder (one clip) or parent folder (several); "
                         "default: the cache")
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


def _check_paths(args) -> None:
    """Inputs are files or folders; the output folder (or, for several clips, each clip's folder
    under it) is new, empty or an analysis framechain wrote: checked before any decoding."""
    from precompute.batch import _output_folders
    from precompute.files import check_input

    for clip in args.clips:
        check_input(clip)
    plan = output_plan(args, *args.clips)
    if args.output and (len(args.clips) > 1 or args.jobs > 1 or args.scheduler):
        parent = Path(args.output)
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"-o {parent}: is a file; give a folder for the analyses")
        if parent.is_dir():  # each clip's folder under it follows the folder rule
            for folder in _output_folders([str(c) for c in args.clips], str(parent)):
                plan.add("-o", folder, kind="folder")
        else:
            plan.add("-o", parent, kind="folder")
    else:
        plan.add("-o", args.output, kind="folder")
    plan.check()


def run(args) -> int:
    with fewer_collections():
        return _run(args)


def _run(args) -> int:
    config = config_from_args(args)
    _check_paths(args)
    if len(args.clips) == 1 and args.jobs <= 1 and not args.scheduler:
        from precompute.analysis import analysis_for, analyze_clip, remember_analysis

        if args.output:
            analysis = analyze_clip(args.clips[0], config, out=args.output, fps=args.input_fps,
                                    progress=not args.quiet, allow_truncated=args.allow_truncated)
            remember_analysis(args.clips[0], analysis, fps=args.input_fps)
        else:
            analysis = analysis_for(args.clips[0], config, fps=args.input_fps, progress=not args.quiet,
                                    allow_truncated=args.allow_truncated)
        print(_summary(analysis))
        return 0
    from precompute.batch import analyze_many  # issue 7: a process pool or a Dask cluster

    if args.allow_truncated:  # the batch workers take no such setting: say so, do not ignore it
        raise ConfigError("--allow-truncated takes one clip at a time (without --jobs or "
                          "--scheduler); analyse the damaged clip on its own")

    results = analyze_many([Path(c) for c in args.clips], config, jobs=args.jobs,
                           scheduler=args.scheduler, out_dir=args.output, fps=args.input_fps,
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

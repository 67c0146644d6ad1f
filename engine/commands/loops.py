"""`framechain loops CLIP`: the best compound loop for a range of lengths, with their costs."""
from __future__ import annotations

NAME = "loops"
HELP = "list the best seamless compound loop for a range of lengths, with their costs"


def add_arguments(parser) -> None:
    parser.add_argument("clip", metavar="CLIP_OR_ANALYSIS",
                        help="a video, GIF or image folder, or a saved analysis folder")
    parser.add_argument("--max-seconds", type=float, default=None, metavar="S",
                        help="longest loop listed (default: 20 s or 600 frames, whichever is fewer)")
    parser.add_argument("--rows", type=int, default=20, metavar="N",
                        help="lengths listed, evenly spaced up to the longest (default 20)")
    parser.add_argument("--primitives", type=int, default=20, metavar="K",
                        help="primitive loops kept, best by average cost (default 20)")
    from engine.commands._common import add_analysis_arguments, add_force_argument

    add_force_argument(parser)  # for loops longer than MAX_LOOP_FRAMES
    add_analysis_arguments(parser)


def run(args) -> int:
    import numpy as np

    from engine.commands._common import open_analysis
    from precompute.errors import ConfigError
    from precompute.loops import (LoopConfig, best_loops_by_length, compound_loop, loop_table,
                                  select_primitive_loops)

    config = LoopConfig(max_primitives=args.primitives)
    analysis = open_analysis(args.clip, args)
    fps = float(analysis.fps)
    max_length = int(round(args.max_seconds * fps)) if args.max_seconds else min(600, int(20 * fps))
    if max_length < 1:
        raise ConfigError(f"--max-seconds must be at least one frame, got {args.max_seconds}")
    from engine.commands._common import check_loop_length

    check_loop_length(max_length, force=args.force, what=f"--max-seconds {args.max_seconds:g}")
    n_candidates = len(analysis.loop_sources)
    print(f"loop candidates: {n_candidates}; for each length range the best {config.max_primitives} "
          f"primitive loops that fit are kept; costs in RMS units (median natural step "
          f"{float(np.median(analysis.natural_steps)):.3f})")
    print(f"{'frames':>7} {'seconds':>8} {'cost':>9} {'jumps':>6}  jumps i->j (first few)")
    edges = np.unique(np.round(np.linspace(0, max_length, args.rows + 1)).astype(int))
    for lo, hi in zip(edges[:-1] + 1, edges[1:]):
        # the cheapest loop of lo..hi frames, from the primitives that can fit in hi frames
        primitives = select_primitive_loops(analysis.loop_sources, analysis.loop_targets,
                                            analysis.loop_costs, max_primitives=config.max_primitives,
                                            min_length=config.min_primitive_length, max_length=hi)
        best = np.full(hi + 1, np.inf)
        if len(primitives):
            table = loop_table(primitives, hi)
            best, column = best_loops_by_length(table)
        lengths = np.arange(lo, hi + 1)
        lengths = lengths[np.isfinite(best[lengths])]
        if lengths.size == 0:
            print(f"{hi:>7} {hi / fps:>8.2f} {'-':>9} {'-':>6}  (no loop of {lo}..{hi} frames)")
            continue
        length = int(lengths[np.argmin(best[lengths])])
        counts = compound_loop(table, length, int(column[length]))
        jumps = [f"{s}->{t}" for s, t, c in zip(primitives.sources, primitives.targets, counts)
                 for _ in range(int(c))]
        listed = " ".join(jumps[:4]) + (" ..." if len(jumps) > 4 else "")
        print(f"{length:>7} {length / fps:>8.2f} {best[length]:>9.3f} {len(jumps):>6}  {listed}")
    return 0

"""`framechain plot CLIP_OR_ANALYSIS -o PNG`: distance matrix, filtered matrix and links."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from engine.commands._common import (add_analysis_arguments, add_output_arguments, open_analysis,
                                     output_plan, require_output)
from precompute.errors import ExportError

NAME = "plot"
HELP = "draw the distance matrix, the dynamics-filtered matrix and the links to a PNG"


def add_arguments(parser):
    parser.add_argument("path", metavar="CLIP_OR_ANALYSIS")
    add_output_arguments(parser, help="PNG file to write", required=True, metavar="PNG")
    add_analysis_arguments(parser)


def plot_analysis(analysis, out: str | os.PathLike) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = analysis.n_frames
    sources = np.repeat(np.arange(n), np.diff(analysis.link_offsets))
    targets = analysis.link_targets
    jumps = targets != sources + 1
    fig, axes = plt.subplots(1, 3, figsize=(16, 5.4), constrained_layout=True)
    extent = (0, n, n, 0)
    for ax, key, title in ((axes[0], "preview_distances", "frame distances D"),
                           (axes[1], "preview_filtered", "dynamics-filtered D1")):
        image = ax.imshow(analysis.arrays[key], cmap="magma", extent=extent, interpolation="nearest")
        ax.set_title(f"{title} (RMS, 0..255)")
        ax.set_xlabel("frame j")
        ax.set_ylabel("frame i")
        fig.colorbar(image, ax=ax, shrink=0.8)
    ax = axes[2]
    ax.plot([0, n], [1, n + 1], color="0.8", lw=1, label="natural step")
    sc = ax.scatter(targets[jumps], sources[jumps], c=analysis.link_probabilities[jumps], s=6,
                    cmap="viridis", vmin=0, vmax=max(1e-3, float(analysis.link_probabilities[jumps].max()
                                                                   if jumps.any() else 1)))
    ax.set_xlim(0, n)
    ax.set_ylim(n, 0)
    ax.set_title(f"links: {int(jumps.sum())} jumps i -> j (colour: probability)")
    ax.set_xlabel("to frame j")
    ax.set_ylabel("from frame i")
    fig.colorbar(sc, ax=ax, shrink=0.8)
    fig.suptitle(f"{Path(str(analysis.source.get('path'))).name}: {n} frames at {analysis.fps:g} fps")
    out = Path(out)
    if not out.parent.is_dir():
        raise ExportError(f"{out}: folder {out.parent} does not exist; create it or choose another -o")
    from precompute.files import ordinary_mode, os_error_message

    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".tmp.png", dir=out.parent)
        os.close(fd)
        from precompute.files import VIDEO_TAG

        # the tag lets a later `plot -o` replace this file without --force
        fig.savefig(tmp, dpi=90, format="png", metadata={"Software": VIDEO_TAG})
        ordinary_mode(tmp, folder=False)  # mkstemp makes it private; a plot is an ordinary file
        os.replace(tmp, out)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ExportError(f"{out}: cannot write the plot ({os_error_message(error)}); "
                              "nothing was written") from None
        raise
    finally:
        plt.close(fig)
    return out


def run(args) -> int:
    require_output(args)
    output_plan(args, args.path).add("-o", args.output, suffixes=(".png",)).check()
    analysis = open_analysis(args.path, args)
    print(plot_analysis(analysis, args.output))
    return 0

"""`framechain plot CLIP_OR_ANALYSIS -o PNG`: distance matrix, filtered matrix and links."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from engine.commands._common import add_analysis_arguments, open_analysis
from precompute.errors import ExportError

NAME = "plot"
HELP = "draw the distance matrix, the dynamics-filtered matrix and the links to a PNG"


def add_arguments(parser):
    parser.add_argument("path", metavar="CLIP_OR_ANALYSIS")
    parser.add_argument("-o", "--out", required=True, help="PNG file to write")
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
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=".png", dir=out.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=90)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a plot is an ordinary file
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise
    finally:
        plt.close(fig)
    return out


def run(args) -> int:
    analysis = open_analysis(args.path, args)
    print(plot_analysis(analysis, args.out))
    return 0

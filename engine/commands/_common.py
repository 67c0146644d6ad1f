"""Shared CLI helpers: analysis settings as flags, and opening a clip or an analysis."""
from __future__ import annotations

import argparse
import dataclasses

from precompute.config import AnalysisConfig

_FLAGS = {  # flag -> (config field, type, help)
    "--feature-width": ("feature_width", int, "analysis feature width in px"),
    "--filter-taps": ("filter_half_taps", int, "dynamics filter half-length m (0, 1 or 2)"),
    "--alpha": ("alpha", float, "future-cost discount (0.99-0.999)"),
    "--power": ("power", float, "cost exponent p"),
    "--form": ("future_form", str, "future cost form: min or expected"),
    "--sigma-scale": ("sigma_scale", float, "variety: sigma as a multiple of the mean cost"),
    "--max-jump-cost": ("max_jump_cost", float, "largest jump kept, in median natural steps"),
    "--max-links": ("max_links_per_frame", int, "most links per frame"),
    "--calm-jump-motion": ("calm_jump_motion", float, "jump only where steps stay below this many median steps (0: off)"),
    "--store-max-height": ("store_max_height", int, "frame store height cap in px"),
    "--device": ("device", str, "distances on auto, cpu or cuda"),
}


def add_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("analysis settings (defaults: see precompute/config.py)")
    for flag, (_, kind, text) in _FLAGS.items():
        group.add_argument(flag, type=kind, default=None, help=text)
    group.add_argument("--equalize", action="store_true", default=None,
                       help="equalise brightness before comparing frames")
    parser.add_argument("--fps", type=float, default=None,
                        help="frame rate of an image folder (default 30), or an override")


def config_from_args(args: argparse.Namespace) -> AnalysisConfig:
    values = {field: getattr(args, flag[2:].replace("-", "_"))
              for flag, (field, _, _) in _FLAGS.items()}
    if getattr(args, "equalize", None):
        values["equalize_brightness"] = True
    values = {k: v for k, v in values.items() if v is not None}
    return dataclasses.replace(AnalysisConfig(), **values)


def open_analysis(path: str, args: argparse.Namespace | None = None, *, progress: bool = True):
    """An analysis folder, or a clip analysed (or taken from the cache) with the given flags."""
    from precompute.analysis import analysis_for

    config = config_from_args(args) if args is not None and hasattr(args, "alpha") else None
    fps = getattr(args, "fps", None) if args is not None else None
    return analysis_for(path, config, fps=fps, progress=progress)

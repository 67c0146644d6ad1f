"""framechain's offline stage: pure array functions from frames to a video texture, and the
saved analysis that the real-time engine reads. See docs/ARCHITECTURE.md for the data contracts.

Names are imported lazily (on first use), as in `engine/__init__.py`: the analysis modules pull in
numba, whose import alone takes longer than the whole `framechain --help` may (issue 15 item 3).
"""
import sys
import types
from importlib import import_module

_WHERE = {  # public name -> the module that defines it
    "MIN_FRAMES": "precompute.analysis", "analysis_for": "precompute.analysis",
    "analyze_clip": "precompute.analysis", "analyze_features": "precompute.analysis",
    "cache_dir": "precompute.analysis",
    "Analysis": "precompute.bundle", "is_analysis": "precompute.bundle",
    "load_analysis": "precompute.bundle", "load_audio": "precompute.bundle",
    "ClipAudio": "precompute.bundle",
    "AnalysisConfig": "precompute.config",
    "frame_distances": "precompute.distances",
    "dynamics_filter": "precompute.dynamics", "transition_costs": "precompute.dynamics",
    "AnalysisError": "precompute.errors", "ClipError": "precompute.errors",
    "ConfigError": "precompute.errors", "ExportError": "precompute.errors",
    "FramechainError": "precompute.errors",
    "frame_features": "precompute.features",
    "FutureCost": "precompute.future_cost", "future_cost": "precompute.future_cost",
    "future_transition_costs": "precompute.future_cost",
    "loop_candidates": "precompute.links", "probabilities_from_costs": "precompute.links",
    "prune_links": "precompute.links",
    "ExtractionConfig": "precompute.sprites", "SpriteClip": "precompute.sprites",
    "extract_sprite": "precompute.sprites", "extract_sprites": "precompute.sprites",
    "ControlConfig": "precompute.control", "analyze_control": "precompute.control",
    "load_sprite": "precompute.control", "save_sprite": "precompute.control",
    "ClipResult": "precompute.batch", "analyze_many": "precompute.batch",
    "SparseConfig": "precompute.sparse", "sparse_links": "precompute.sparse",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'precompute' has no attribute {name!r}")


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # `future_cost` names both a function and the module defining it. Loading that module
        # makes the import system set it as this package's attribute, which would hide the
        # function that `from precompute import future_cost` has always given: keep the name free
        # (then __getattr__ answers with the function).
        if name in _WHERE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__():
    return sorted(list(globals()) + list(_WHERE))

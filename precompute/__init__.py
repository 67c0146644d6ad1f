"""framechain's offline stage: pure array functions from frames to a video texture, and the
saved analysis that the real-time engine reads. See docs/ARCHITECTURE.md for the data contracts."""
from precompute.analysis import MIN_FRAMES, analysis_for, analyze_clip, analyze_features, cache_dir
from precompute.bundle import Analysis, is_analysis, load_analysis
from precompute.config import AnalysisConfig
from precompute.distances import frame_distances
from precompute.dynamics import dynamics_filter, transition_costs
from precompute.errors import AnalysisError, ClipError, ConfigError, ExportError, FramechainError
from precompute.features import frame_features
from precompute.future_cost import FutureCost, future_cost, future_transition_costs
from precompute.links import loop_candidates, probabilities_from_costs, prune_links
from precompute.sprites import ExtractionConfig, SpriteClip, extract_sprite
from precompute.control import ControlConfig, analyze_control, load_sprite, save_sprite
from precompute.batch import ClipResult, analyze_many
from precompute.sparse import SparseConfig, sparse_links

__all__ = [
    "Analysis", "AnalysisConfig", "AnalysisError", "ClipError", "ConfigError", "ExportError",
    "FramechainError", "FutureCost", "MIN_FRAMES", "analysis_for", "analyze_clip",
    "analyze_features", "cache_dir", "dynamics_filter", "frame_distances", "frame_features",
    "future_cost", "future_transition_costs", "is_analysis", "load_analysis", "loop_candidates",
    "probabilities_from_costs", "prune_links", "transition_costs",
    "ExtractionConfig", "SpriteClip", "extract_sprite", "ControlConfig", "analyze_control",
    "load_sprite", "save_sprite", "ClipResult", "analyze_many", "SparseConfig", "sparse_links",
]

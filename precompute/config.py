"""Settings of the offline analysis, one frozen dataclass. Saved with every analysis."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from precompute.errors import ConfigError

__all__ = ["AnalysisConfig"]


@dataclass(frozen=True, kw_only=True)
class AnalysisConfig:
    """How a clip becomes a video texture. Costs are in RMS units (see docs/ARCHITECTURE.md)."""

    # features
    feature_width: int = 64  # px; about the width of the analysis features (area-downscaled by a
    #   whole factor, so 480 px gives 60). Wider: finer
    #   distances, slower; 64 matches ../shared/tools/quality.py.
    equalize_brightness: bool = False  # subtract each frame's mean luma first: for flicker from
    #   auto-exposure; leave off for flames, whose brightness IS the motion.
    store_max_height: int = 1080  # px; frame store height cap (display resolution). Lower it for
    #   long or 4K clips to save disk and memory bandwidth.
    store: str = "auto"  # the display frames' store: "raw" (uint8 frames, memory-mapped: the
    #   fastest to read), "proxy" (short-GOP H.264 with an index, ~100x smaller, decoded ahead of
    #   play: precompute/frame_store.py) or "auto" (the proxy where the raw store would pass 2 GiB).

    # dynamics
    filter_half_taps: int = 2  # m: 1 -> taps [1,1]/2, 2 -> [1,3,3,1]/8. Larger keeps motion
    #   direction better at the price of fewer jumps. Edges: taps outside the clip are dropped and
    #   the rest renormalised (no row loses its links).

    # future cost
    alpha: float = 0.995  # discount of the future cost, 0.99-0.999: higher looks further ahead
    #   to dead ends, converges slower.
    power: float = 1.0  # p: costs are raised to p before the future cost; higher p favours
    #   several good jumps over one poor one.
    future_form: str = "min"  # "min" (Q-learning) or "expected" (average over the chain's own
    #   probabilities; smoother, slower).
    tolerance: float = 1e-5  # stop when the largest change of a future value is below this
    #   fraction of the mean cost.
    max_passes: int = 2000  # cap on sweeps (a warning says if it was hit).

    # probabilities and pruning
    sigma_scale: float = 0.1  # sigma = sigma_scale x mean non-zero transition cost (0.05-0.2)
    #   where jumps_per_second is 0; otherwise the start of the search for the jump rate.
    max_jump_cost: float = 2.0  # keep jumps whose visual cost is at most this many median natural
    #   steps (a crossfade hides about that much); lower: fewer, better jumps.
    calm_jump_motion: float = 0.0  # if > 0: besides the fade rule below, no jump where the
    #   clip's own steps near either end exceed this many median natural steps (the blanket rule
    #   of version 0.3, which on real footage starved play of jumps; off by default).
    max_fade_step: float = 0.0  # a jump is taken only where its crossfade's predicted steps stay
    #   below this many median natural steps; 0: min(1.5, the clip's p95 step / median), the
    #   largest step the clip itself shows. Lower: fewer, calmer jumps.
    fade_frames: int = 4  # crossfade length the fade rule assumes (the player's default --fade)
    jumps_per_second: float = 0.8  # jump rate of long-run play: sigma is set so that the chain
    #   jumps this often (among its acceptable jumps). 0: sigma from sigma_scale alone.
    max_jump_probability: float = 0.5  # a frame that keeps its natural step jumps with at most
    #   this probability (a frame whose only good jump is a short skip would otherwise take it every
    #   time); 1: no cap.
    min_playable_share: float = 0.7  # where the frames that good jumps join hold less than this
    #   share of the clip, the jump limits above are relaxed step by step (up to 3x) until they do.
    min_skip_share: float = 0.0  # a forward jump must skip at least this share of that span (0: off)
    min_cycle_share: float = 0.5  # a backward jump must go back at least this share of what 10 s
    #   of play (or the whole clip, if shorter) shows: shorter cycles trap play in a few frames.
    min_probability: float = 0.05  # drop links below this probability (before renormalising);
    #   lower keeps more, rarer jumps (a pendulum keeps reversing ones below ~0.03)
    max_links_per_frame: int = 8  # most links kept per frame, the natural step included
    min_jump_frames: int = 3  # a jump must land at least this many frames from the natural
    #   successor; nearer ones only stutter or skip.
    max_loop_candidates: int = 2000  # backward jumps kept for loop export, cheapest first

    # compute
    device: str = "auto"  # "auto" | "cpu" | "cuda": where distances are computed (torch for cuda)
    dense_memory_budget_bytes: int = 2 * 1024**3  # above this the sparse (k-NN) path is used

    def __post_init__(self):
        checks = [
            (self.feature_width >= 4, "feature_width must be >= 4"),
            (self.filter_half_taps in (0, 1, 2), "filter_half_taps must be 0, 1 or 2"),
            (0.0 < self.alpha < 1.0, "alpha must be in (0, 1)"),
            (self.power > 0, "power must be > 0"),
            (self.future_form in ("min", "expected"), "future_form must be 'min' or 'expected'"),
            (self.tolerance > 0, "tolerance must be > 0"),
            (self.max_passes >= 1, "max_passes must be >= 1"),
            (self.sigma_scale > 0, "sigma_scale must be > 0"),
            (self.max_jump_cost > 0, "max_jump_cost must be > 0"),
            (0 <= self.min_probability < 1, "min_probability must be in [0, 1)"),
            (self.max_links_per_frame >= 1, "max_links_per_frame must be >= 1"),
            (self.calm_jump_motion >= 0, "calm_jump_motion must be >= 0"),
            (self.max_fade_step >= 0, "max_fade_step must be >= 0"),
            (self.fade_frames >= 0, "fade_frames must be >= 0"),
            (self.jumps_per_second >= 0, "jumps_per_second must be >= 0"),
            (0 <= self.min_cycle_share <= 1, "min_cycle_share must be in [0, 1]"),
            (0 <= self.min_playable_share <= 1, "min_playable_share must be in [0, 1]"),
            (0 < self.max_jump_probability <= 1, "max_jump_probability must be in (0, 1]"),
            (self.device in ("auto", "cpu", "cuda"), "device must be auto, cpu or cuda"),
            (self.store in ("auto", "raw", "proxy"), "store must be auto, raw or proxy"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(f"{message} (got {self})")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "AnalysisConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError(f"unknown analysis settings {sorted(unknown)}; known: {sorted(known)}")
        return cls(**values)

    def key(self) -> str:
        """A short hash of the settings that change the result (not where it is computed)."""
        values = self.to_dict()
        values.pop("device")
        values.pop("dense_memory_budget_bytes")
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]

"""Optical flow for the jumps, computed once before play, for the engine's morph transition.

For a jump i -> j the crossfade mixes what the clip would have shown next (frame i+1) with
what it shows instead (frame j); these look alike by construction (C[i, j] = D1[i+1, j]) but are
not the same picture, and a plain crossfade ghosts where they differ by a small motion. The
morph (engine.render.MorphCompositor) warps both towards each other along the flow from i+1 to
j, so playback does no flow work: it only resizes and applies the stored flow.

Array in, array out: no file I/O. One OpenCV DIS call per distinct (i+1, j) pair of the jumps
that are kept (a few per frame): DIS cannot be batched, and the pairs are few.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from precompute.errors import ConfigError

__all__ = ["FlowConfig", "LinkFlows", "link_flows", "jump_flows"]


@dataclass(frozen=True, kw_only=True)
class FlowConfig:
    """Settings of the per-jump optical flow."""

    width: int = 128  # flow resolution in pixels (height keeps the aspect); larger is finer and
    #   slower (DIS time grows with the pixel count); memory is jumps x h x w x 4 bytes
    #   (the candle: 1520 jumps at 128 x 160 = 124 MB, ~4 s here)
    preset: str = "fast"  # DIS preset: "ultrafast", "fast" or "medium" (most accurate, ~5x slower)
    min_probability: float = 0.0  # skip jumps below this probability (given link_probabilities);
    #   0 keeps every jump


@dataclass(frozen=True)
class LinkFlows:
    """Flows from frame `sources[k]` (= i+1 of a jump i -> j) to `targets[k]` (= j).

    sources, targets  (M,) int32 frame indices
    flows             (M, h, w, 2) float16, (dx, dy) in pixels of the flow resolution:
                      frame_a(x) ~ frame_b(x + flow(x))
    scale             full-resolution pixels per flow pixel
    frame_size        (width, height) of the frames the flows belong to
    """

    sources: np.ndarray
    targets: np.ndarray
    flows: np.ndarray
    scale: float
    frame_size: tuple[int, int]


_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
            "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}


def link_flows(frames: np.ndarray, link_offsets: np.ndarray, link_targets: np.ndarray, *,
               link_probabilities: np.ndarray | None = None,
               config: FlowConfig = FlowConfig()) -> LinkFlows:
    """DIS optical flow for every jump of a link graph (CSR, docs/ARCHITECTURE.md).

    frames        (T, H, W, 3) uint8 RGB (array, memmap or proxy store; only the frames of jumps
                  are read)
    link_offsets  (T+1,) int CSR row pointers; link_targets (nnz,) int
    link_probabilities  (nnz,) optional; with `config.min_probability` it skips unlikely jumps
    Returns LinkFlows with one flow per distinct (i+1, j) pair (i+1 clamped to T-1).
    """
    frames = _check_frames(frames)
    n_frames = frames.shape[0]
    offsets = np.asarray(link_offsets, np.int64)
    targets = np.asarray(link_targets, np.int64)
    if offsets.shape != (n_frames + 1,) or offsets[-1] != targets.shape[0]:
        raise ConfigError(f"link_offsets must be ({n_frames + 1},) ending at len(link_targets) = "
                          f"{targets.shape[0]}, got {offsets.shape}; for a list of jumps use jump_flows")
    sources = np.repeat(np.arange(n_frames), np.diff(offsets))  # (nnz,)
    jump = targets != sources + 1
    if link_probabilities is not None and config.min_probability > 0:
        jump &= np.asarray(link_probabilities) >= config.min_probability
    return jump_flows(frames, sources[jump], targets[jump], config=config)


def _check_frames(frames) -> np.ndarray:
    from precompute.frame_store import is_frame_store

    if not ((isinstance(frames, np.ndarray) or is_frame_store(frames)) and frames.ndim == 4
            and frames.shape[3] == 3 and frames.dtype == np.uint8):
        raise ConfigError(f"frames must be (T, H, W, 3) uint8, got {getattr(frames, 'shape', None)}")
    return frames


def jump_flows(frames: np.ndarray, jump_sources, jump_targets, *,
               config: FlowConfig = FlowConfig()) -> LinkFlows:
    """DIS optical flow for a list of jumps i -> j (e.g. those of one exported path).

    frames        (T, H, W, 3) uint8 RGB
    jump_sources  (M,) int frames i; jump_targets (M,) int frames j
    Returns LinkFlows with one flow per distinct (i+1, j) pair (i+1 clamped to T-1).
    """
    frames = _check_frames(frames)
    if config.preset not in _PRESETS:
        raise ConfigError(f"preset must be one of {sorted(_PRESETS)}, got {config.preset!r}")
    if config.width < 16:
        raise ConfigError(f"width must be >= 16 pixels, got {config.width}")
    n_frames, height, width = frames.shape[:3]
    sources = np.asarray(jump_sources, np.int64).ravel()
    targets = np.asarray(jump_targets, np.int64).ravel()
    if sources.shape != targets.shape:
        raise ConfigError(f"jump_sources and jump_targets must have one length, got {sources.shape} "
                          f"and {targets.shape}")
    if sources.size and (min(sources.min(), targets.min()) < 0
                         or max(sources.max(), targets.max()) >= n_frames):
        raise ConfigError(f"jump frames must lie in 0..{n_frames - 1}")
    pairs = np.unique(np.stack([np.minimum(sources + 1, n_frames - 1), targets], axis=1).reshape(-1, 2),
                      axis=0)  # (M, 2): (i+1, j)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    flow_width = min(config.width, width)
    flow_height = max(8, round(height * flow_width / width))
    scale = width / flow_width
    dis = cv2.DISOpticalFlow_create(_PRESETS[config.preset])
    flows = np.zeros((len(pairs), flow_height, flow_width, 2), np.float16)  # (M, h, w, 2)
    grey_cache: dict[int, np.ndarray] = {}

    def grey(index: int) -> np.ndarray:
        if index not in grey_cache:
            if len(grey_cache) > 256:
                grey_cache.clear()
            small = cv2.resize(np.asarray(frames[index]), (flow_width, flow_height), interpolation=cv2.INTER_AREA)
            grey_cache[index] = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        return grey_cache[index]

    for k, (a, b) in enumerate(pairs):
        flows[k] = dis.calc(grey(int(a)), grey(int(b)), None)
    return LinkFlows(sources=pairs[:, 0].astype(np.int32), targets=pairs[:, 1].astype(np.int32),
                     flows=flows, scale=float(scale), frame_size=(int(width), int(height)))

"""CPU compositing of blends from the frame store: crossfade, optical-flow morph, cut.

A blend is `[(source_frame_index, weight), ...]` (see engine.transitions). The compositors
return an (H, W, 3) uint8 frame: for a single frame, a read-only view of the store (no copy, no
work); for two frames `cv2.addWeighted` (~0.8 ms at 720p here, against ~29 ms for the same
crossfade in float numpy); for three or more, a numba kernel. Rounding is to nearest, as in the
torch path (engine.gpu), so the two agree within 1 grey level.
"""
from __future__ import annotations

import cv2
import numpy as np
from numba import njit

from engine.transitions import Blend, fade_reach
from precompute.errors import ConfigError

__all__ = ["Compositor", "MorphCompositor", "compose", "make_compositor"]


def _check_frames(frames) -> np.ndarray:
    if not (isinstance(frames, np.ndarray) and frames.ndim == 4 and frames.shape[3] == 3
            and frames.dtype == np.uint8):
        raise ConfigError(f"frames must be (T, H, W, 3) uint8, got {getattr(frames, 'shape', None)} "
                          f"{getattr(frames, 'dtype', type(frames).__name__)}")
    return frames


def _check_blend(blend: Blend, n_frames: int) -> None:
    if not blend:
        raise ConfigError("blend must hold at least one (source_frame_index, weight) pair, got []")
    for index, weight in blend:
        if not 0 <= index < n_frames:
            raise ConfigError(f"blend source index {index} is outside 0..{n_frames - 1}")
        if not weight >= 0:
            raise ConfigError(f"blend weights must be >= 0, got {weight}")


@njit(cache=True, nogil=True)
def _blend_many(frames, indices, weights, out):
    # frames (T, H, W, 3) uint8; indices (n,) int64; weights (n,) float32; out (H, W, 3) uint8
    height, width = out.shape[0], out.shape[1]
    n = indices.shape[0]
    for y in range(height):
        for x in range(width):
            for c in range(3):
                total = np.float32(0.5)  # round half up
                for k in range(n):
                    total += weights[k] * np.float32(frames[indices[k], y, x, c])
                value = int(total)
                out[y, x, c] = 255 if value > 255 else value


def compose(frames: np.ndarray, blend: Blend, *, out: np.ndarray | None = None) -> np.ndarray:
    """Composite one blend from `frames` (T, H, W, 3) uint8 into (H, W, 3) uint8.

    One pair: returns `frames[i]` itself (a view; do not write to it). Two or more: writes into
    `out` (allocated when None) and returns it. Weights are used as given (they should sum to 1).
    """
    _check_frames(frames)
    _check_blend(blend, frames.shape[0])
    return _compose(frames, blend, out)


def _compose(frames, blend, out):
    if len(blend) == 1:
        return frames[blend[0][0]]
    if out is None:
        out = np.empty(frames.shape[1:], np.uint8)
    if len(blend) == 2:
        (a, weight_a), (b, weight_b) = blend
        cv2.addWeighted(frames[a], float(weight_a), frames[b], float(weight_b), 0.0, dst=out)
        return out
    indices = np.array([index for index, _ in blend], np.int64)
    weights = np.array([weight for _, weight in blend], np.float32)
    _blend_many(np.asarray(frames), indices, weights, out)
    return out


class Compositor:
    """Crossfade (and cut) compositor: `compose(blend)` -> (H, W, 3) uint8.

    The returned array is a view of the store or this compositor's own buffer, valid until the
    next call (copy it to keep it).
    """

    name = "crossfade"

    def __init__(self, frames: np.ndarray):
        self.frames = _check_frames(frames)
        self._out = np.empty(frames.shape[1:], np.uint8)  # (H, W, 3), reused every frame

    def compose(self, blend: Blend) -> np.ndarray:
        return _compose(self.frames, blend, self._out)


class MorphCompositor(Compositor):
    """Crossfade with optical-flow morph at jumps.

    `flows` is a `precompute.flows.LinkFlows` computed once per link before play: the flow from
    frame i+1 (what the clip would have shown after i) to j (what it shows instead) for each
    jump i -> j. A two-way blend of an old-stream frame a with a new-stream frame b that belong
    to a jump with a flow is warped: a moves forward by t x flow, b back by (1 - t) x flow, then
    they are mixed with weights (1 - t, t) (t = weight of b). The same flow is used for the K
    frames of the fade (their displacement is nearly that of the jump's own pair). Blends of
    three or more streams, and jumps without a flow, fall back to the crossfade.
    """

    name = "morph"

    def __init__(self, frames: np.ndarray, flows, *, fade_frames: int = 4):
        super().__init__(frames)
        height, width = frames.shape[1:3]
        if flows.frame_size != (width, height):
            raise ConfigError(f"flows were computed for frames of {flows.frame_size}, "
                              f"the store holds {(width, height)}; recompute them")
        self.flows = flows
        self._reach = fade_reach(fade_frames) + 1
        self._index = {(int(a), int(b)): k for k, (a, b) in enumerate(zip(flows.sources, flows.targets))}
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self._grid_x = grid_x  # (H, W) float32
        self._grid_y = grid_y
        self._cached_flow = (-1, None)
        self._warped_a = np.empty_like(self._out)
        self._warped_b = np.empty_like(self._out)

    def _flow_for(self, a: int, b: int):
        for shift in range(-self._reach, self._reach + 1):
            k = self._index.get((a - shift, b - shift))
            if k is not None:
                return k
        return None

    def compose(self, blend: Blend) -> np.ndarray:
        if len(blend) != 2:
            return _compose(self.frames, blend, self._out)
        (a, weight_a), (b, weight_b) = blend
        k = self._flow_for(a, b)
        if k is None:
            return _compose(self.frames, blend, self._out)
        if self._cached_flow[0] != k:
            height, width = self._out.shape[:2]
            small = self.flows.flows[k].astype(np.float32)  # (h, w, 2) at flow resolution
            flow = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)  # (H, W, 2)
            flow *= np.float32(self.flows.scale)
            self._cached_flow = (k, flow)
        flow = self._cached_flow[1]
        t = np.float32(weight_b / (weight_a + weight_b))
        cv2.remap(self.frames[a], self._grid_x - t * flow[..., 0], self._grid_y - t * flow[..., 1],
                  cv2.INTER_LINEAR, dst=self._warped_a, borderMode=cv2.BORDER_REPLICATE)
        cv2.remap(self.frames[b], self._grid_x + (1 - t) * flow[..., 0], self._grid_y + (1 - t) * flow[..., 1],
                  cv2.INTER_LINEAR, dst=self._warped_b, borderMode=cv2.BORDER_REPLICATE)
        cv2.addWeighted(self._warped_a, float(1 - t), self._warped_b, float(t), 0.0, dst=self._out)
        return self._out


def make_compositor(frames: np.ndarray, *, transitions: str = "crossfade", device: str = "cpu",
                    flows=None, fade_frames: int = 4):
    """The compositor for a transition kind ("crossfade", "cut", "morph") and device
    ("cpu", or "auto"/"cuda" for the torch path of engine.gpu, crossfade and cut only)."""
    if transitions not in ("crossfade", "cut", "morph"):
        raise ConfigError(f"transitions must be crossfade, cut or morph, got {transitions!r}")
    if transitions == "morph":
        if flows is None:
            raise ConfigError("transitions='morph' needs flows: precompute.flows.link_flows(...)")
        if device != "cpu":
            raise ConfigError("the morph runs on the CPU only; pass device='cpu' with transitions='morph'")
        return MorphCompositor(frames, flows, fade_frames=fade_frames)
    if device == "cpu":
        return Compositor(frames)
    from engine.gpu import TorchCompositor, resolve_device

    # "auto" without CUDA: the OpenCV path is faster than torch on the CPU; resolve_device says so
    if resolve_device(device) == "cpu" and device == "auto":
        return Compositor(frames)
    return TorchCompositor(frames, device=device)

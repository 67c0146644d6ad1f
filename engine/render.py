"""CPU compositing of blends from the frame store: crossfade, optical-flow morph, cut.

A blend is `[(source_frame_index, weight), ...]` (see engine.transitions). The compositors
return an (H, W, 3) uint8 frame: for a single frame, a read-only view of the store (no copy, no
work); for 2-4 frames a fixed-point numba kernel, one vectorised pass (as fast as
cv2.addWeighted, against ~29 ms for a float numpy crossfade at 720p); for more, a float
accumulation. Rounding is to nearest, as in the torch path (engine.gpu): they agree within 1.
"""
from __future__ import annotations

import cv2
import numpy as np
from numba import njit

from engine.transitions import Blend, fade_reach
from precompute.errors import ConfigError

__all__ = ["Compositor", "MorphCompositor", "compose", "make_compositor"]


def _check_frames(frames) -> np.ndarray:
    from precompute.frame_store import is_frame_store

    if not ((isinstance(frames, np.ndarray) or is_frame_store(frames)) and frames.ndim == 4
            and frames.shape[3] == 3 and frames.dtype == np.uint8):
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


# Blends of 2-4 frames: fixed-point weights (16 fractional bits, summing to exactly 65536) in
# uint32, one pass over the flat pixels with the frame count unrolled, so LLVM vectorises it
# (1.7-2.9 ms at 720p on this shared machine, on par with cv2.addWeighted's 2-way). The
# quantised weights differ from the exact ones by < 2^-17, so results equal round-half-up of the
# exact weighted sum except within 0.01 of a tie.
_ONE = 65536


@njit(cache=True, nogil=True)
def _blend2(a, b, wa, wb, out):
    # a, b, out: (H*W*3,) uint8; wa + wb == 65536
    half = np.uint32(32768)
    for p in range(out.shape[0]):
        out[p] = np.uint8((wa * np.uint32(a[p]) + wb * np.uint32(b[p]) + half) >> np.uint32(16))


@njit(cache=True, nogil=True)
def _blend3(a, b, c, wa, wb, wc, out):
    half = np.uint32(32768)
    for p in range(out.shape[0]):
        out[p] = np.uint8((wa * np.uint32(a[p]) + wb * np.uint32(b[p]) + wc * np.uint32(c[p]) + half)
                          >> np.uint32(16))


@njit(cache=True, nogil=True)
def _blend4(a, b, c, d, wa, wb, wc, wd, out):
    half = np.uint32(32768)
    for p in range(out.shape[0]):
        out[p] = np.uint8((wa * np.uint32(a[p]) + wb * np.uint32(b[p]) + wc * np.uint32(c[p])
                           + wd * np.uint32(d[p]) + half) >> np.uint32(16))


def _fixed_weights(weights) -> list:
    """Weights (summing to ~1) -> np.uint32 integers summing to exactly 65536 (largest remainder)."""
    total = float(sum(weights))
    scaled = [w / total * _ONE for w in weights]
    fixed = [int(v) for v in scaled]
    order = sorted(range(len(scaled)), key=lambda k: fixed[k] - scaled[k])
    for k in order[: _ONE - sum(fixed)]:
        fixed[k] += 1
    return [np.uint32(v) for v in fixed]


def _flat(frames) -> np.ndarray:
    """(T, H, W, 3) store -> (T, H*W*3) plain-ndarray view (memmaps included), no copy; a
    proxy store's rows, decoded when read."""
    if not isinstance(frames, np.ndarray):
        return frames.reshape(frames.shape[0], -1)
    return np.asarray(frames).reshape(frames.shape[0], -1)  # (T, H*W*3)


def compose(frames: np.ndarray, blend: Blend, *, out: np.ndarray | None = None) -> np.ndarray:
    """Composite one blend from `frames` (T, H, W, 3) uint8 into (H, W, 3) uint8.

    One pair: returns `frames[i]` itself (a view; do not write to it). Two or more: writes into
    `out` (allocated when None) and returns it. Weights are normalised to sum to 1.
    """
    _check_frames(frames)
    _check_blend(blend, frames.shape[0])
    return _compose(frames, _flat(frames), blend, out)


def _compose(frames, flat, blend, out):
    if len(blend) == 1:
        return frames[blend[0][0]]
    if out is None:
        out = np.empty(frames.shape[1:], np.uint8)
    target = out.reshape(-1)  # (H*W*3,) view of out
    rows = [flat[index] for index, _ in blend]
    weights = _fixed_weights([weight for _, weight in blend])
    if len(blend) == 2:
        _blend2(rows[0], rows[1], weights[0], weights[1], target)
    elif len(blend) == 3:
        _blend3(rows[0], rows[1], rows[2], weights[0], weights[1], weights[2], target)
    elif len(blend) == 4:
        _blend4(*rows, *weights, target)
    else:  # five streams or more (fades overlapping many jumps): rare, float accumulation
        total = float(sum(weight for _, weight in blend))
        accumulator = np.zeros(target.shape, np.float32)
        for row, (_, weight) in zip(rows, blend):
            cv2.scaleAdd(row.astype(np.float32), weight / total, accumulator, dst=accumulator)
        np.floor(accumulator + 0.5, out=accumulator)
        np.clip(accumulator, 0, 255, out=accumulator)
        target[:] = accumulator
    return out


class Compositor:
    """Crossfade (and cut) compositor: `compose(blend)` -> (H, W, 3) uint8.

    The returned array is a view of the store or this compositor's own buffer, valid until the
    next call (copy it to keep it).
    """

    name = "crossfade"

    def __init__(self, frames: np.ndarray):
        self.frames = _check_frames(frames)
        self._flat = _flat(frames)  # (T, H*W*3) view
        self._out = np.empty(frames.shape[1:], np.uint8)  # (H, W, 3), reused every frame

    def compose(self, blend: Blend) -> np.ndarray:
        return _compose(self.frames, self._flat, blend, self._out)


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
        self._map_x = np.empty_like(grid_x)  # (H, W) float32 sampling maps, reused
        self._map_y = np.empty_like(grid_y)
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
            return _compose(self.frames, self._flat, blend, self._out)
        (a, weight_a), (b, weight_b) = blend
        k = self._flow_for(a, b)
        if k is None:
            return _compose(self.frames, self._flat, blend, self._out)
        if self._cached_flow[0] != k:
            height, width = self._out.shape[:2]
            small = self.flows.flows[k].astype(np.float32)  # (h, w, 2) at flow resolution
            flow = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)  # (H, W, 2)
            flow *= np.float32(self.flows.scale)
            self._cached_flow = (k, (np.ascontiguousarray(flow[..., 0]), np.ascontiguousarray(flow[..., 1])))
        flow_x, flow_y = self._cached_flow[1]  # (H, W) float32 each
        t = float(weight_b / (weight_a + weight_b))
        map_x, map_y = self._map_x, self._map_y
        # a moves forward by t x flow: sample a at y - t * flow(y)
        cv2.scaleAdd(flow_x, -t, self._grid_x, dst=map_x)
        cv2.scaleAdd(flow_y, -t, self._grid_y, dst=map_y)
        cv2.remap(self.frames[a], map_x, map_y, cv2.INTER_LINEAR, dst=self._warped_a,
                  borderMode=cv2.BORDER_REPLICATE)
        # b moves back by (1 - t) x flow: sample b at y + (1 - t) * flow(y)
        cv2.scaleAdd(flow_x, 1.0 - t, self._grid_x, dst=map_x)
        cv2.scaleAdd(flow_y, 1.0 - t, self._grid_y, dst=map_y)
        cv2.remap(self.frames[b], map_x, map_y, cv2.INTER_LINEAR, dst=self._warped_b,
                  borderMode=cv2.BORDER_REPLICATE)
        cv2.addWeighted(self._warped_a, 1.0 - t, self._warped_b, t, 0.0, dst=self._out)
        return self._out


def make_compositor(frames: np.ndarray, *, transitions: str = "crossfade", device: str = "cpu",
                    flows=None, fade_frames: int = 4):
    """The compositor of a registered transition (engine.renderers: "crossfade", "cut", "morph",
    "generated", and any added there) on a device ("cpu", or "auto"/"cuda" for the torch path of
    engine.gpu where the renderer has one). `flows`: the jumps' optical flows, for renderers that
    need them (precompute.flows.link_flows / jump_flows)."""
    from engine.renderers import transition

    renderer = transition(transitions)
    if renderer.needs_flows and flows is None:
        raise ConfigError(f"transitions={transitions!r} needs flows: precompute.flows.link_flows(...)")
    if device != "cpu" and not renderer.gpu:
        raise ConfigError(f"the {transitions} transition runs on the CPU only; pass device='cpu' "
                          f"with transitions={transitions!r}")
    return renderer.make(_check_frames(frames), fade_frames=renderer.fade_frames(fade_frames),
                         flows=flows if renderer.needs_flows else None, device=device)

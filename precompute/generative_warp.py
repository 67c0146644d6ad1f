"""Warp helpers shared by the in-between models, the bridges and the flow morph (issue 6, split
out in issue 13): frame checks and resizing, OpenCV DIS / Farneback optical flow, the Super SloMo
linear-motion flows to time t, backward warps, the flow morph and the crossfade.

Numpy in, numpy out (no torch): frames `(H, W, 3) uint8` RGB, clips `(T, H, W, 3) uint8`, flows
`(H, W, 2) float32` in pixels with OpenCV's convention `a[y, x] ~ b[y + f_y, x + f_x]`.
"""
from __future__ import annotations

import cv2
import numpy as np

from precompute.errors import ConfigError

__all__ = ["model_size", "resize_frames", "optical_flow", "flow_morph", "crossfade"]


def _check_frames(frames: np.ndarray, name: str = "frames") -> None:
    if not (isinstance(frames, np.ndarray) and frames.ndim == 4 and frames.shape[-1] == 3
            and frames.dtype == np.uint8):
        got = (getattr(frames, "shape", None), getattr(frames, "dtype", type(frames).__name__))
        raise ConfigError(f"{name} must be (T, H, W, 3) uint8, got {got[0]} {got[1]}")


def _check_frame(frame: np.ndarray, name: str) -> None:
    if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[-1] == 3
            and frame.dtype == np.uint8):
        got = (getattr(frame, "shape", None), getattr(frame, "dtype", type(frame).__name__))
        raise ConfigError(f"{name} must be (H, W, 3) uint8, got {got[0]} {got[1]}")


def model_size(height: int, width: int, *, model_width: int) -> tuple[int, int]:
    """(h, w) of the model's frames for a clip of (height, width): w = model_width (never above the
    clip's), h by aspect; both multiples of 8 (the U-Net halves twice, then the decoder matches)."""
    w = min(model_width, width)
    h = height * w / width
    return max(8, int(round(h / 8)) * 8), max(8, int(round(w / 8)) * 8)


def resize_frames(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, h, w, 3) uint8, area-averaged when shrinking."""
    h, w = size
    if frames.shape[1:3] == (h, w):
        return np.ascontiguousarray(frames)
    shrink = h <= frames.shape[1] and w <= frames.shape[2]
    interpolation = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (w, h), interpolation=interpolation) for f in frames])


def _gray(frame: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)  # (H, W) uint8


def optical_flow(a: np.ndarray, b: np.ndarray, *, method: str = "dis") -> np.ndarray:
    """Dense flow from frame a to frame b: (H, W, 3) uint8 x2 -> (H, W, 2) float32 px,
    with a[y, x] ~ b[y + f[..., 1], x + f[..., 0]]."""
    _check_frame(a, "a")
    _check_frame(b, "b")
    ga, gb = _gray(a), _gray(b)
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return dis.calc(ga, gb, None)
    if method == "farneback":
        return cv2.calcOpticalFlowFarneback(ga, gb, None, 0.5, 3, 15, 3, 5, 1.2, 0)
    raise ConfigError(f"method must be 'dis' or 'farneback', got {method!r}")


def _flow_pair(a: np.ndarray, b: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    return optical_flow(a, b, method=method), optical_flow(b, a, method=method)


def _flows_at(f01: np.ndarray, f10: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Backward flows from time t to each endpoint (Super SloMo's linear-motion approximation)."""
    ft0 = -(1.0 - t) * t * f01 + t * t * f10  # (H, W, 2)
    ft1 = (1.0 - t) ** 2 * f01 - t * (1.0 - t) * f10  # (H, W, 2)
    return ft0.astype(np.float32), ft1.astype(np.float32)


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def _backward_warp(frame: np.ndarray, flow: np.ndarray, origin: tuple[int, int] = (0, 0)) -> np.ndarray:
    """Sample frame at x + flow(x): (H, W, C) x (h, w, 2) -> (h, w, C), same dtype. The flow may
    cover a crop whose top-left pixel is `origin` (y, x) in the frame; samples still come from the
    whole frame."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    return cv2.remap(frame, xs + (origin[1] + flow[..., 0]), ys + (origin[0] + flow[..., 1]),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _morph_parts(a, b, f01, f10, t, origin=(0, 0)):
    """The warps of a and b to time t and the flows that made them (float32, 0..255 scale).
    f01, f10 may be crops at `origin` of the full flows (then so are the results)."""
    ft0, ft1 = _flows_at(f01, f10, t)
    wa = _backward_warp(a, ft0, origin).astype(np.float32)  # (h, w, 3)
    wb = _backward_warp(b, ft1, origin).astype(np.float32)  # (h, w, 3)
    return wa, wb, ft0, ft1


def flow_morph(a: np.ndarray, b: np.ndarray, times, *, method: str = "dis") -> np.ndarray:
    """Flow morph between a and b at each t in `times`: (H, W, 3) uint8 x2 -> (K, H, W, 3) uint8.
    Both endpoints are warped to time t along their flows and blended (1 - t, t)."""
    f01, f10 = _flow_pair(a, b, method)
    out = []
    for t in np.atleast_1d(np.asarray(times, dtype=np.float64)):
        wa, wb, _, _ = _morph_parts(a, b, f01, f10, float(t))
        out.append(np.clip((1.0 - t) * wa + t * wb + 0.5, 0, 255).astype(np.uint8))
    return np.stack(out)


def crossfade(a: np.ndarray, b: np.ndarray, times) -> np.ndarray:
    """Plain crossfade: (H, W, 3) uint8 x2 -> (K, H, W, 3) uint8, (1 - t) a + t b."""
    t = np.atleast_1d(np.asarray(times, dtype=np.float32))[:, None, None, None]  # (K, 1, 1, 1)
    out = (1.0 - t) * a[None].astype(np.float32) + t * b[None].astype(np.float32)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)

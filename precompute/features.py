"""Analysis features: small area-downscaled frames, flattened to vectors.

The downscale is by a whole factor k: each feature pixel is the mean of a k x k block, rounded
half to even (the numbers OpenCV's INTER_AREA gives for k >= 4). It runs in the decode loop once per
frame, so it has its own kernel: rows summed k at a time in uint16 (vectorised), then the k
pixels of each block, then a lookup table for the rounding; 0.13 ms for a 480x480 frame
against 0.3-0.45 ms for cv2.resize, which has no fast path for k > 2.

The kernel is compiled (loaded from numba's disk cache) on first use, not at import: the decode
loop asks for it with `wait=False` and, until a background thread has loaded numba and the
kernel (precompute.warmup, ~0.3 s of CPU), takes the same numbers from numpy, so that decoding
never waits for numba (issue 17).
"""
from __future__ import annotations

import functools

import numpy as np

from precompute.lazy_jit import lazy_njit

__all__ = ["feature_size", "frame_features", "frame_feature", "frame_feature_u8"]


def _factor(height: int, width: int, feature_width: int) -> int:
    return max(1, min(int(round(width / feature_width)), int(height)))


def feature_size(height: int, width: int, feature_width: int) -> tuple[int, int]:
    """(h, w) of the features for a clip of height x width: about `feature_width` wide.

    The frame is shrunk by a whole factor k = round(width / feature_width) (a remainder of
    fewer than k pixels is cropped at the right and bottom): OpenCV's area interpolation then
    takes its fast integer path, 2-4x faster than a fractional factor (480 px -> 60, not 64).
    """
    k = _factor(height, width, feature_width)
    return int(height) // k, int(width) // k


@functools.lru_cache(maxsize=16)
def _rounding_table(k: int) -> np.ndarray:
    """(255 k^2 + 1,) uint8: a k x k block's sum -> its mean rounded half to even."""
    area = k * k
    sums = np.arange(255 * area + 1)
    q, r = np.divmod(sums, area)
    q += (2 * r > area) | ((2 * r == area) & (q % 2 == 1))
    return q.astype(np.uint8)


@lazy_njit(cache=True, nogil=True)  # nogil: runs beside decoding on the decode loop's worker thread
def _block_means_rgb(rows, k, w, table, out):
    """rows (H, W*3) uint8 C-contiguous -> out (h, w*3) uint8 means of k x k blocks (see module doc)."""
    span = w * k * 3
    column_sums = np.empty(span, np.uint16)  # 255 k fits for k <= 257
    for oy in range(out.shape[0]):
        first = rows[oy * k]
        for t in range(span):
            column_sums[t] = first[t]
        for dy in range(1, k):
            row = rows[oy * k + dy]
            for t in range(span):
                column_sums[t] += row[t]
        o = out[oy]
        for ox in range(w):
            base = ox * k * 3
            s0 = 0
            s1 = 0
            s2 = 0
            for dx in range(k):
                p = base + dx * 3
                s0 += column_sums[p]
                s1 += column_sums[p + 1]
                s2 += column_sums[p + 2]
            o[ox * 3] = table[s0]
            o[ox * 3 + 1] = table[s1]
            o[ox * 3 + 2] = table[s2]
    return out


_kernel = None  # _block_means_rgb once its one signature is loaded (load_kernel)


def load_kernel():
    """The block-means kernel, compiled or loaded from numba's disk cache on the first call
    (a second caller meanwhile waits for the same compilation: numba's lock)."""
    global _kernel
    if _kernel is None:
        rows = np.zeros((4, 12), np.uint8)  # one call loads the one signature used
        _block_means_rgb(rows, 4, 1, _rounding_table(4), np.empty((1, 3), np.uint8))
        _kernel = _block_means_rgb
    return _kernel


def _block_means_without_kernel(rows, k, w, table, out):
    """What the kernel returns, in numpy (~0.2 ms for a 480x480 frame, 2.5x the kernel): block
    sums in whole numbers (exact), k rows then k pixels at a time, and the same rounding table."""
    h = out.shape[0]
    block_rows = rows[:h * k].reshape(h, k, -1)[:, :, :w * k * 3]  # (h, k, w*k*3)
    sums = block_rows[:, 0].astype(np.uint16 if 255 * k * k <= 0xFFFF else np.uint32)
    for dy in range(1, k):
        sums += block_rows[:, dy]
    sums = sums.reshape(h, w, k * 3)
    total = sums[:, :, 0:3].copy()  # (h, w, 3)
    for dx in range(1, k):
        total += sums[:, :, 3 * dx:3 * dx + 3]
    out[:] = table[total].reshape(h, w * 3)
    return out


def _area_downscale(frame: np.ndarray, feature_width: int, *, wait: bool = True) -> np.ndarray:
    """(H, W, 3) uint8 -> (h, w, 3) uint8 block means, see feature_size. `wait=False`: the
    same numbers without numba while the kernel is not loaded yet (see the module doc)."""
    h, w = feature_size(frame.shape[0], frame.shape[1], feature_width)
    k = _factor(frame.shape[0], frame.shape[1], feature_width)
    if k == 1:
        return np.array(frame[:h, :w], np.uint8, order="C")
    if frame.ndim != 3 or frame.shape[2] != 3 or k > 257:
        import cv2

        return cv2.resize(frame[: h * k, : w * k], (w, h), interpolation=cv2.INTER_AREA)
    rows = np.ascontiguousarray(frame).reshape(frame.shape[0], -1)  # (H, W*3)
    out = np.empty((h, w * 3), np.uint8)
    kernel = load_kernel() if wait else _kernel
    means = kernel if kernel is not None else _block_means_without_kernel
    return means(rows, k, w, _rounding_table(k), out).reshape(h, w, 3)


def frame_feature_u8(frame: np.ndarray, *, feature_width: int = 64, wait: bool = True) -> np.ndarray:
    """One (H, W, 3) uint8 frame -> (h*w*3,) uint8 feature: the area-downscaled frame, whole
    numbers 0..255 (what `frame_feature` returns as float32 without equalisation). `wait`:
    see _area_downscale."""
    return _area_downscale(frame, feature_width, wait=wait).reshape(-1)


def frame_feature(frame: np.ndarray, *, feature_width: int = 64, equalize: bool = False,
                  wait: bool = True) -> np.ndarray:
    """One (H, W, 3) uint8 frame -> (h*w*3,) float32 feature (0..255 scale), see feature_size.

    Area interpolation averages the pixels each feature pixel covers (no aliasing of flicker).
    `equalize` subtracts the frame's mean so a global brightness change costs nothing.
    """
    feature = _area_downscale(frame, feature_width, wait=wait).reshape(-1).astype(np.float32)  # (h*w*3,)
    if equalize:
        feature -= feature.mean()
    return feature


def frame_features(frames: np.ndarray, *, feature_width: int = 64, equalize: bool = False) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, d) float32 features, d = h*w*3."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    return np.stack([frame_feature(f, feature_width=feature_width, equalize=equalize) for f in frames])

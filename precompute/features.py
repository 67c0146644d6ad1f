"""Analysis features: small area-downscaled frames, flattened to vectors."""
from __future__ import annotations

import numpy as np

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


def frame_feature_u8(frame: np.ndarray, *, feature_width: int = 64) -> np.ndarray:
    """One (H, W, 3) uint8 frame -> (h*w*3,) uint8 feature: the area-downscaled frame, whole
    numbers 0..255 (what `frame_feature` returns as float32 without equalisation)."""
    import cv2

    h, w = feature_size(frame.shape[0], frame.shape[1], feature_width)
    k = _factor(frame.shape[0], frame.shape[1], feature_width)
    return cv2.resize(frame[: h * k, : w * k], (w, h), interpolation=cv2.INTER_AREA).reshape(-1)


def frame_feature(frame: np.ndarray, *, feature_width: int = 64, equalize: bool = False) -> np.ndarray:
    """One (H, W, 3) uint8 frame -> (h*w*3,) float32 feature (0..255 scale), see feature_size.

    Area interpolation averages the pixels each feature pixel covers (no aliasing of flicker).
    `equalize` subtracts the frame's mean so a global brightness change costs nothing.
    """
    import cv2

    h, w = feature_size(frame.shape[0], frame.shape[1], feature_width)
    k = _factor(frame.shape[0], frame.shape[1], feature_width)
    small = cv2.resize(frame[: h * k, : w * k], (w, h), interpolation=cv2.INTER_AREA)  # (h, w, 3)
    feature = small.reshape(-1).astype(np.float32)  # (h*w*3,)
    if equalize:
        feature -= feature.mean()
    return feature


def frame_features(frames: np.ndarray, *, feature_width: int = 64, equalize: bool = False) -> np.ndarray:
    """(T, H, W, 3) uint8 -> (T, d) float32 features, d = h*w*3."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8, got {frames.shape} {frames.dtype}")
    return np.stack([frame_feature(f, feature_width=feature_width, equalize=equalize) for f in frames])

"""Analysis features: small area-downscaled frames, flattened to vectors."""
from __future__ import annotations

import numpy as np

__all__ = ["feature_size", "frame_features", "frame_feature"]


def feature_size(height: int, width: int, feature_width: int) -> tuple[int, int]:
    """(h, w) of the features for a clip of height x width, keeping the aspect ratio."""
    w = min(int(feature_width), int(width))
    h = max(1, int(round(height * w / width)))
    return h, w


def frame_feature(frame: np.ndarray, *, feature_width: int = 64, equalize: bool = False) -> np.ndarray:
    """One (H, W, 3) uint8 frame -> (h*w*3,) float32 feature (0..255 scale).

    Area interpolation averages the pixels each feature pixel covers (no aliasing of flicker).
    `equalize` subtracts the frame's mean so a global brightness change costs nothing.
    """
    import cv2

    h, w = feature_size(frame.shape[0], frame.shape[1], feature_width)
    small = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)  # (h, w, 3) uint8
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

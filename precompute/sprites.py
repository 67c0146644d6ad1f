"""Video sprites, extraction: cut subjects out of a clip with alpha and follow each one.

Pipeline (section 9 of the algorithms reference), streamed so that memory stays O(one frame)
beyond the output, however long or large the clip:
0. survey pass: count the frames and keep an evenly spaced sample (at most `plate_samples`);
   the background plate is their per-pixel median, and `auto` picks chroma when the sample's
   border is mostly the key colour;
1. observe pass: soft alpha per frame (chroma key with spill suppression, or the difference from
   the plate), its connected components and, per component, what identifies a subject: centroid,
   area, box, a colour histogram (4x4x4 RGB bins, alpha-weighted), the mean colour and the
   elongation of the matte;
2. tracking (no pixels): components are linked frame to frame into tracks by predicted position
   AND appearance (a component whose colour histogram is far from the track's is another subject,
   never linked: the track ends and a new one begins). One track is one subject. A frame where the
   subject touches the border, merges with another (one blob claimed by two tracks, or grown by
   merge_ratio), splits, or looks unlike itself is not clean; each run of clean frames becomes a
   segment, and a segment's last frame has no natural successor (a dead end the control analysis
   must plan around);
3. cut pass: for the chosen subjects only, each clean frame's own matte is cut out, registered
   on its alpha centroid (sub-pixel) and stored cropped to its box (padded): `SpriteFrames`;
4. velocity = difference of the unregistered centroids between consecutive frames of a segment,
   smoothed with a binomial kernel;
5. optional mirroring (left-right) doubles the directions covered.

Conventions: frames (T, H, W, 3) uint8 RGB, or a callable returning a fresh iterator of
(H, W, 3) uint8 frames (one streaming pass per call, e.g. a decoder); alpha (H, W) float32 in
0..1; sprite frames RGBA uint8 with straight (not premultiplied) colour, registered so that the
alpha centroid is at ((S-1)/2, (S-1)/2) of a square of side S, stored cropped; positions and
velocities (N, 2) float32 (x, y) in source pixels, image axes (x right, y down), velocity in
px/frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as dataclass_replace
from typing import Callable, Iterable

import cv2
import numpy as np

from precompute.errors import ClipError, ConfigError

__all__ = ["ExtractionConfig", "SpriteFrames", "SpriteClip", "extract_sprite", "extract_sprites",
           "difference_alpha", "chroma_key", "median_plate", "track_subjects", "mirror_sprite",
           "smooth_velocities", "colour_histogram_distance", "Subject"]

HIST_BINS = 4  # per RGB channel: 64 bins, coarse enough to be stable under lighting and pose


@dataclass(frozen=True)
class ExtractionConfig:
    method: str = "auto"         # "difference" (against a plate), "chroma" (blue/green screen), or
                                 # "auto": chroma when the frame border is mostly the key colour
    key: str = "green"           # chroma key colour, "green" or "blue"
    low: float = 18.0            # difference (max over RGB, 0..255) at which alpha starts to rise;
                                 # raise it when noise or a watermark leaks into the matte
    high: float = 48.0           # difference at which alpha is 1; the soft edge spans low..high
    threshold: float = 0.5       # alpha above which a pixel belongs to a component
    min_area: int = 60           # components below this many px are noise, not subjects
    max_step: float = 0.15       # largest centroid move per frame, as a share of the frame diagonal
    merge_ratio: float = 1.7     # area growth (vs the track's median) that means two subjects merged
    split_ratio: float = 0.45    # area shrinkage that means the subject is partly hidden or split
    identity_gate: float = 0.45  # Hellinger distance of colour histograms (0 same .. 1 disjoint)
                                 # above which a component is another subject: never linked.
                                 # One fish frame to the next: ~0.05-0.2; a grey vs an orange fish: ~0.7+
    appearance_weight: float = 1.0  # matching cost per unit of histogram distance, against the
                                 # position term (distance / reach): colour decides close calls
    size_weight: float = 0.3     # matching cost per unit of |ln(area ratio)| (size of the matte)
    shape_weight: float = 0.2    # matching cost per unit of |ln(elongation ratio)| (shape of the matte)
    max_merged_frames: int = 30  # a track seen only inside another's blob for longer ends there
                                 # (a subject that left is not followed on another's back)
    border_margin: int = 1       # px: a subject this close to the border is cut off, dropped
    min_segment: int = 6         # shorter runs of clean frames are dropped (too short to play)
    smooth_frames: int = 5       # binomial smoothing of velocities; 1 = none, odd numbers
    pad: int = 4                 # px of margin around the subject in each stored crop
    subject: int = 0             # which subject: 0 = the one with most clean frames, 1 next..
    pick: tuple | None = None    # (x, y) or (x, y, frame): the subject under that point of that
                                 # frame (default frame 0) instead of `subject`
    mirror: bool | None = None   # append left-right mirrored frames (doubles the headings a
                                 # course can use: one real fish swims mostly left or right);
                                 # None: mirror a subject that travels, not one that walks in
                                 # place (the player mirrors a walker as it turns, gait.py)
    drop_colourless: bool = True  # drop frames whose foreground is grey (mean channel spread < 4)
                                  # while others are coloured: a matte pass appended to footage,
                                  # as from frame ~750 of the shared fish clip
    plate_samples: int = 31      # frames sampled for the per-pixel median plate (odd: a true
                                 # median); also the survey's memory: this many frames at most

    def __post_init__(self):
        if self.method not in ("auto", "difference", "chroma"):
            raise ConfigError(f"method must be 'auto', 'difference' or 'chroma', got {self.method!r}")
        if self.key not in ("green", "blue"):
            raise ConfigError(f"key must be 'green' or 'blue', got {self.key!r}")
        if not 0 <= self.low < self.high:
            raise ConfigError(f"need 0 <= low < high, got low={self.low}, high={self.high}")
        if self.smooth_frames < 1 or self.smooth_frames % 2 == 0:
            raise ConfigError(f"smooth_frames must be odd and >= 1, got {self.smooth_frames}")
        if self.min_segment < 2:
            raise ConfigError(f"min_segment must be >= 2, got {self.min_segment}")
        if not 0 < self.identity_gate <= 1:
            raise ConfigError(f"identity_gate must be in (0, 1], got {self.identity_gate}")
        if self.plate_samples < 1:
            raise ConfigError(f"plate_samples must be >= 1, got {self.plate_samples}")
        if self.pick is not None:
            pick = tuple(self.pick)
            if len(pick) not in (2, 3) or not all(np.isfinite(v) for v in pick) or \
                    (len(pick) == 3 and (pick[2] < 0 or pick[2] != int(pick[2]))):
                raise ConfigError(f"pick must be (x, y) or (x, y, frame) with a whole frame >= 0, "
                                  f"got {self.pick!r}")
            object.__setattr__(self, "pick", pick)


# --- stored frames -----------------------------------------------------------------------------

class SpriteFrames:
    """N RGBA frames registered in a square of side S, each stored cropped to its box.

    pixels (P, 4) uint8: the crops one after another, row-major; offsets (N+1,) int64: frame i's
    crop is pixels[offsets[i]:offsets[i+1]].reshape(h, w, 4); boxes (N, 4) int32 (x0, y0, w, h):
    where that crop lies in the S x S square (zero everywhere else). Read-only once made."""

    def __init__(self, pixels: np.ndarray, offsets: np.ndarray, boxes: np.ndarray, side: int):
        self.pixels = pixels
        self.offsets = offsets
        self.boxes = boxes
        self.side = side
        self._check()
        for a in (self.pixels, self.offsets, self.boxes):
            a.setflags(write=False)

    def _check(self) -> None:
        def bad(what: str):
            raise ClipError(f"sprite frames: {what}")

        p, o, b = self.pixels, self.offsets, self.boxes
        if not (isinstance(p, np.ndarray) and p.ndim == 2 and p.shape[1] == 4 and p.dtype == np.uint8):
            bad(f"pixels must be (P, 4) uint8, got {getattr(p, 'shape', None)} {getattr(p, 'dtype', None)}")
        if not (isinstance(b, np.ndarray) and b.ndim == 2 and b.shape[1] == 4 and b.dtype.kind == "i"):
            bad(f"crop_boxes must be (N, 4) int, got {getattr(b, 'shape', None)} {getattr(b, 'dtype', None)}")
        n = b.shape[0]
        if not (isinstance(o, np.ndarray) and o.shape == (n + 1,) and o.dtype.kind == "i"):
            bad(f"crop_offsets must be ({n + 1},) int for {n} frames, got {getattr(o, 'shape', None)}")
        try:
            side = int(self.side)
        except (TypeError, ValueError):
            bad(f"size must be a whole number, got {self.side!r}")
        if side != self.side or side < 1:
            bad(f"size must be a positive whole number, got {self.side!r}")
        self.side = side
        x0, y0, w, h = (b[:, k].astype(np.int64) for k in range(4))
        if n and ((x0 < 0) | (y0 < 0) | (w < 0) | (h < 0) | (x0 + w > side) | (y0 + h > side)).any():
            bad(f"a crop box lies outside the {side} x {side} square")
        if o[0] != 0 or o[-1] != p.shape[0] or not np.array_equal(np.diff(o), w * h):
            bad("crop_offsets do not match the crop boxes and pixels")

    @classmethod
    def from_dense(cls, rgba: np.ndarray) -> "SpriteFrames":
        """From (N, S, S, 4) uint8 frames: each cropped to its non-zero pixels (lossless)."""
        if not (isinstance(rgba, np.ndarray) and rgba.ndim == 4 and rgba.shape[3] == 4
                and rgba.dtype == np.uint8 and rgba.shape[1] == rgba.shape[2]):
            raise ClipError(f"sprite rgba must be (N, S, S, 4) uint8, got "
                            f"{getattr(rgba, 'shape', None)} {getattr(rgba, 'dtype', None)}")
        boxes, crops = [], []
        for frame in rgba:  # one frame at a time
            ys, xs = np.nonzero(frame.any(axis=2))
            if ys.size == 0:
                boxes.append((0, 0, 0, 0))
                crops.append(np.zeros((0, 4), np.uint8))
                continue
            y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
            boxes.append((x0, y0, x1 - x0, y1 - y0))
            crops.append(frame[y0:y1, x0:x1].reshape(-1, 4))
        return cls.pack(crops, np.asarray(boxes, np.int32).reshape(-1, 4), rgba.shape[1])

    @classmethod
    def pack(cls, crops: list, boxes: np.ndarray, side: int) -> "SpriteFrames":
        """From a list of crops ((h, w, 4) or (h*w, 4) uint8) and their boxes (N, 4)."""
        sizes = np.array([c.shape[0] * c.shape[1] if c.ndim == 3 else c.shape[0] for c in crops], np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        pixels = np.empty((int(offsets[-1]), 4), np.uint8)
        for k, c in enumerate(crops):  # filled in place: no second copy of the whole
            pixels[offsets[k]:offsets[k + 1]] = c.reshape(-1, 4)
        return cls(pixels, offsets, np.asarray(boxes, np.int32).reshape(-1, 4), int(side))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def crop(self, i: int) -> tuple[int, int, np.ndarray]:
        """(x0, y0, crop (h, w, 4) uint8 read-only view) of frame i."""
        x0, y0, w, h = (int(v) for v in self.boxes[i])
        return x0, y0, self.pixels[self.offsets[i]:self.offsets[i + 1]].reshape(h, w, 4)

    def frame(self, i: int) -> np.ndarray:
        """Frame i as a full (S, S, 4) uint8 array (a new one)."""
        x0, y0, crop = self.crop(i)
        out = np.zeros((self.side, self.side, 4), np.uint8)
        out[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
        return out

    def dense(self) -> np.ndarray:
        """All frames (N, S, S, 4) uint8: N*S*S*4 bytes, for small sprites and tests."""
        out = np.zeros((len(self), self.side, self.side, 4), np.uint8)
        for i in range(len(self)):
            x0, y0, crop = self.crop(i)
            out[i, y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = crop
        return out

    def mirrored(self) -> "SpriteFrames":
        """The left-right mirror image of every frame (about the square's centre)."""
        crops = [self.crop(i)[2][:, ::-1] for i in range(len(self))]
        boxes = self.boxes.astype(np.int32).copy()
        boxes[:, 0] = self.side - boxes[:, 0] - boxes[:, 2]
        return SpriteFrames.pack(crops, boxes, self.side)

    @staticmethod
    def concatenate(parts: list) -> "SpriteFrames":
        side = parts[0].side
        if any(p.side != side for p in parts):
            raise ClipError("sprite frames of different sizes cannot be concatenated")
        return SpriteFrames.pack([p.crop(i)[2] for p in parts for i in range(len(p))],
                                 np.concatenate([p.boxes for p in parts]), side)


@dataclass(frozen=True, eq=False)
class SpriteClip:
    """A sprite clip: registered RGBA frames and their motion. N frames of side S.

    crops: SpriteFrames (a dense (N, S, S, 4) uint8 array is accepted and cropped); frame(i)
    gives frame i whole, alpha centroid at the frame centre ((S-1)/2, (S-1)/2), crop(i) its
    stored crop; velocities (N, 2) float32 px/frame; positions (N, 2) float32 unregistered
    centroids; segments (N,) int32: frame i -> i+1 is a natural step iff segments[i] ==
    segments[i+1]; source_frames (N,) int32 decoded frame index; mirrored (N,) bool; fps.
    """

    crops: SpriteFrames
    velocities: np.ndarray
    positions: np.ndarray
    segments: np.ndarray
    source_frames: np.ndarray
    mirrored: np.ndarray
    fps: float
    info: dict = field(default_factory=dict)  # extraction settings and counts, for the manifest

    def __post_init__(self):
        if not isinstance(self.crops, SpriteFrames):
            object.__setattr__(self, "crops", SpriteFrames.from_dense(self.crops))
        n = len(self.crops)
        if n < 2:
            raise ClipError(f"a sprite clip needs at least 2 frames, got {n}")
        for name, shape in (("velocities", (n, 2)), ("positions", (n, 2)), ("segments", (n,)),
                            ("source_frames", (n,)), ("mirrored", (n,))):
            value = getattr(self, name)
            if np.shape(value) != shape:
                raise ClipError(f"sprite {name} must have shape {shape}, got {np.shape(value)}")
        if not np.isfinite(self.velocities).all():
            raise ClipError("sprite velocities must be finite")
        if not self.fps > 0:
            raise ClipError(f"sprite fps must be positive, got {self.fps}")

    @property
    def n_frames(self) -> int:
        return len(self.crops)

    @property
    def size(self) -> int:
        """S: the side of the registered square."""
        return int(self.crops.side)

    def frame(self, i: int) -> np.ndarray:
        """Frame i whole: (S, S, 4) uint8 RGBA, a new array (zero outside the stored crop)."""
        return self.crops.frame(i)

    def crop(self, i: int) -> tuple[int, int, np.ndarray]:
        """(x0, y0, rgba (h, w, 4) uint8 read-only view): frame i's stored crop and its corner in
        the S x S square. The cheapest way to draw a frame."""
        return self.crops.crop(i)

    @property
    def rgba(self) -> np.ndarray:
        """All frames dense, (N, S, S, 4) uint8, built on each call (N*S*S*4 bytes: hundreds of
        MB for a large subject). For small sprites and tests; use frame(i) or crop(i)."""
        return self.crops.dense()

    @property
    def has_successor(self) -> np.ndarray:
        """(N,) bool: frame i continues naturally to i+1 (False at segment ends)."""
        out = np.zeros(self.n_frames, bool)
        out[:-1] = self.segments[:-1] == self.segments[1:]
        return out

    @classmethod
    def from_arrays(cls, rgba, velocities, *, fps: float, segments=None, positions=None,
                    info: dict | None = None) -> "SpriteClip":
        """A sprite clip from registered frames (N, S, S, 4) and velocities (N, 2), e.g. a
        procedural one; one segment unless `segments` (N,) says otherwise."""
        crops = SpriteFrames.from_dense(np.ascontiguousarray(rgba) if isinstance(rgba, np.ndarray) else rgba)
        n = len(crops)
        velocities = np.asarray(velocities, np.float32)
        segments = np.zeros(n, np.int32) if segments is None else np.asarray(segments, np.int32)
        if positions is None:
            positions = np.cumsum(np.concatenate([np.zeros((1, 2), np.float32), velocities[:-1]]), axis=0)
        return cls(crops, velocities, np.asarray(positions, np.float32), segments,
                   np.arange(n, dtype=np.int32), np.zeros(n, bool), float(fps), dict(info or {}))


# --- alpha -------------------------------------------------------------------------------------

def _check_frames(frames: np.ndarray, *, min_frames: int = 2) -> np.ndarray:
    if not (isinstance(frames, np.ndarray) and frames.ndim == 4 and frames.shape[3] == 3
            and frames.dtype == np.uint8):
        raise ClipError(f"frames must be (T, H, W, 3) uint8, got {getattr(frames, 'shape', None)} "
                        f"{getattr(frames, 'dtype', None)}")
    if frames.shape[0] < min_frames:
        raise ClipError(f"a sprite needs a clip of at least {min_frames} frames, got {frames.shape[0]}")
    return frames


def median_plate(frames: np.ndarray, *, samples: int = 31) -> np.ndarray:
    """The background plate: per-pixel median over `samples` evenly spaced frames, (H, W, 3) uint8.

    Right when every pixel shows background in more than half of the sampled frames."""
    frames = _check_frames(frames)
    picks = np.unique(np.linspace(0, frames.shape[0] - 1, min(samples, frames.shape[0])).astype(int))
    return _banded_median([frames[p] for p in picks])  # (H, W, 3)


def _ramp(value: np.ndarray, low: float, high: float) -> np.ndarray:
    out = np.subtract(value, np.float32(low), dtype=np.float32)
    out *= np.float32(1.0 / (high - low))
    return np.clip(out, 0.0, 1.0, out=out)


def difference_alpha(frames: np.ndarray, plate: np.ndarray, *, low: float = 18.0,
                     high: float = 48.0) -> np.ndarray:
    """Soft alpha (T, H, W) float32: the largest channel difference from the plate, ramped low..high."""
    frames = _check_frames(frames, min_frames=1)
    plate = np.asarray(plate)
    if plate.shape != frames.shape[1:] or plate.dtype != np.uint8:
        raise ClipError(f"plate must be {frames.shape[1:]} uint8 like the frames, got {plate.shape} {plate.dtype}")
    alpha = np.empty(frames.shape[:3], np.float32)
    for t in range(frames.shape[0]):  # one frame at a time bounds the temporaries
        diff = cv2.absdiff(frames[t], plate)  # (H, W, 3) uint8
        largest = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2])  # (H, W)
        alpha[t] = _ramp(largest.astype(np.float32), low, high)
    return alpha


def chroma_key(frames: np.ndarray, *, key: str = "green", low: float = 18.0,
               high: float = 48.0) -> tuple[np.ndarray, np.ndarray]:
    """Chroma key: (alpha (T, H, W) float32, despilled frames (T, H, W, 3) uint8).

    Keyness = key channel - max(other two); alpha falls from 1 to 0 as keyness rises low..high.
    Spill suppression clamps the key channel to the larger of the other two, which removes the
    green (blue) fringe that the screen casts on the subject's edges."""
    frames = _check_frames(frames, min_frames=1)
    if key not in ("green", "blue"):
        raise ConfigError(f"key must be 'green' or 'blue', got {key!r}")
    k = 1 if key == "green" else 2
    others = [c for c in range(3) if c != k]
    alpha = np.empty(frames.shape[:3], np.float32)
    despilled = frames.copy()
    for t in range(frames.shape[0]):
        f = frames[t].astype(np.int16)
        limit = np.maximum(f[..., others[0]], f[..., others[1]])  # (H, W)
        alpha[t] = 1.0 - _ramp(f[..., k] - limit, low, high)
        despilled[t, ..., k] = np.minimum(f[..., k], limit).astype(np.uint8)
    return alpha, despilled


def _border_is_key(frames: np.ndarray, key: str) -> bool:
    k = 1 if key == "green" else 2
    border = np.concatenate([frames[:, 0], frames[:, -1], frames[:, :, 0], frames[:, :, -1]], axis=1)
    border = border[:: max(1, len(frames) // 16)].astype(np.int16)  # (t, L, 3)
    others = np.delete(border, k, axis=2).max(axis=2)
    return float(np.mean(border[..., k] - others > 40)) > 0.5


def _banded_median(samples: list) -> np.ndarray:
    """Per-pixel median of equal-shaped (H, W, 3) uint8 frames, a band of rows at a time (the
    temporaries stay a few MB whatever the frame size): (H, W, 3) uint8."""
    height = samples[0].shape[0]
    out = np.empty(samples[0].shape, np.uint8)
    rows = max(1, (4 << 20) // max(1, samples[0][0].nbytes * len(samples)))
    for r in range(0, height, rows):
        band = np.stack([s[r:r + rows] for s in samples])  # (k, rows, W, 3)
        out[r:r + rows] = np.median(band, axis=0).astype(np.uint8)
    return out


# --- streaming the clip ------------------------------------------------------------------------

def _passes(frames) -> tuple[Callable[[], Iterable[np.ndarray]], int | None]:
    """(a callable giving a fresh pass over the frames, the frame count if known)."""
    if isinstance(frames, np.ndarray):
        frames = _check_frames(frames)
        return (lambda: iter(frames)), int(frames.shape[0])
    if callable(frames):
        return frames, None
    raise ClipError("frames must be a (T, H, W, 3) uint8 array or a callable giving an iterator of "
                    "(H, W, 3) uint8 frames")


def _checked(stream: Iterable[np.ndarray], shape=None):
    """Yield (t, frame) and check every frame: (H, W, 3) uint8, all one size."""
    for t, frame in enumerate(stream):
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
                and frame.dtype == np.uint8):
            raise ClipError(f"frame {t} must be (H, W, 3) uint8, got {getattr(frame, 'shape', None)} "
                            f"{getattr(frame, 'dtype', None)}")
        if shape is None:
            shape = frame.shape
        elif frame.shape != shape:
            raise ClipError(f"frame {t} is {frame.shape[1]}x{frame.shape[0]}, the first one "
                            f"{shape[1]}x{shape[0]}: all frames of a clip must be one size")
        yield t, frame


def _survey(passes, count: int | None, samples: int) -> tuple[int, tuple, list]:
    """Pass 0: (frame count, (H, W), evenly spaced sample frames, at most `samples` of them).

    Without a known count the stride doubles whenever the sample fills up (keeping every other
    frame), so the sample covers the whole clip evenly and never holds more than `samples`."""
    if count is not None:
        picks = set(np.unique(np.linspace(0, count - 1, min(samples, count)).astype(int)).tolist())
    kept, stride, t_count, shape = [], 1, 0, None
    for t, frame in _checked(passes()):
        t_count, shape = t + 1, frame.shape
        if count is not None:
            if t in picks:
                kept.append(frame.copy())
            continue
        if t % stride == 0:
            kept.append(frame.copy())  # a decoder may reuse its buffer
            if len(kept) > samples:
                kept, stride = kept[::2], stride * 2
    if t_count < 2:
        raise ClipError(f"a sprite needs a clip of at least 2 frames, got {t_count}")
    if len(kept) > 1 and len(kept) % 2 == 0:
        kept = kept[:-1]  # an odd count: the median is a true pixel value
    return t_count, shape[:2], kept


def _matte(frame: np.ndarray, method: str, plate, config: ExtractionConfig):
    """(alpha (H, W) float32, colour (H, W, 3) uint8: despilled for chroma) of one frame."""
    if method == "chroma":
        alpha, despilled = chroma_key(frame[None], key=config.key, low=config.low, high=config.high)
        return alpha[0], despilled[0]
    return difference_alpha(frame[None], plate, low=config.low, high=config.high)[0], frame


# --- components and what identifies them -------------------------------------------------------

def colour_histogram(pixels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(k, 3) uint8 RGB with (k,) weights -> (HIST_BINS**3,) float32 histogram summing to 1."""
    q = (pixels >> (8 - int(np.log2(HIST_BINS)))).astype(np.int32)  # (k, 3) bin per channel
    index = (q[:, 0] * HIST_BINS + q[:, 1]) * HIST_BINS + q[:, 2]
    hist = np.bincount(index, weights=weights, minlength=HIST_BINS ** 3).astype(np.float32)
    return hist / max(float(hist.sum()), 1e-9)


def colour_histogram_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hellinger distance between histograms (..., bins): 0 same .. 1 disjoint."""
    bc = np.sum(np.sqrt(np.maximum(a, 0) * np.maximum(b, 0)), axis=-1)
    return np.sqrt(np.clip(1.0 - bc, 0.0, 1.0))


def _components(alpha: np.ndarray, threshold: float, min_area: int, border_margin: int, *,
                labels: bool = True):
    """Components of one matte (H, W): (labels (H, W) int32 with 0 = none, centroids (k, 2),
    areas (k,), touches_border (k,) bool, boxes (k, 4) int (x0, y0, w, h), cv2 labels of the
    kept components (k,)); label c+1 is component c."""
    height, width = alpha.shape
    mask = (alpha > threshold).astype(np.uint8)
    n, lab, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area) + 1
    x0, y0 = stats[keep, cv2.CC_STAT_LEFT], stats[keep, cv2.CC_STAT_TOP]
    w, h = stats[keep, cv2.CC_STAT_WIDTH], stats[keep, cv2.CC_STAT_HEIGHT]
    m = border_margin
    touches = (x0 < m) | (y0 < m) | (x0 + w > width - m) | (y0 + h > height - m)
    relabelled = None
    if labels:
        remap = np.zeros(n, np.int32)
        remap[keep] = np.arange(1, keep.size + 1)
        relabelled = remap[lab]
    return (relabelled, cents[keep].astype(np.float64), stats[keep, cv2.CC_STAT_AREA].astype(np.float64),
            touches.astype(bool), np.stack([x0, y0, w, h], axis=1).astype(np.int64), lab, keep)


def _observe_frame(alpha: np.ndarray, colour: np.ndarray, config: ExtractionConfig) -> dict:
    """One frame's components and their identity: centroids (k, 2), areas (k,), touches (k,),
    boxes (k, 4), hists (k, 64) colour histograms, means (k, 3) mean colour, elongation (k,)
    (ratio of the principal axes of the matte, >= 1)."""
    _, cents, areas, touches, boxes, lab, keep = _components(
        alpha, config.threshold, config.min_area, config.border_margin, labels=False)
    k = len(areas)
    hists = np.zeros((k, HIST_BINS ** 3), np.float32)
    means = np.zeros((k, 3), np.float32)
    elongation = np.ones(k, np.float32)
    for c in range(k):  # per component, inside its box only
        x0, y0, w, h = boxes[c]
        inside = lab[y0:y0 + h, x0:x0 + w] == keep[c]
        px = colour[y0:y0 + h, x0:x0 + w][inside]  # (a, 3)
        weight = alpha[y0:y0 + h, x0:x0 + w][inside].astype(np.float64)
        hists[c] = colour_histogram(px, weight)
        means[c] = (px * weight[:, None]).sum(axis=0) / max(weight.sum(), 1e-9)
        ys, xs = np.nonzero(inside)
        if ys.size > 2:
            eig = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))
            elongation[c] = float(np.sqrt(max(eig[1], 1e-6) / max(eig[0], 1e-6)))
    return {"cents": cents, "areas": areas, "touches": touches, "boxes": boxes, "hists": hists,
            "means": means, "elongation": elongation}


def _frame_spread(alpha: np.ndarray, colour: np.ndarray, threshold: float) -> float:
    """Colourfulness of the foreground: mean (max - min) channel spread, 0 = grey or none."""
    fg = alpha > threshold
    if not fg.any():
        return 0.0
    px = colour[fg].astype(np.int16)  # (k, 3)
    return float((px.max(axis=1) - px.min(axis=1)).mean())


def _empty(observed: dict) -> dict:
    return {key: value[:0] for key, value in observed.items()}


# --- tracking ------------------------------------------------------------------------------------

@dataclass
class Subject:
    """One subject followed through the clip (a track): per frame it is seen, the component's
    centroid, and whether the frame is clean (whole, alone, itself)."""

    index: int                     # rank: 0 = most clean frames in playable runs
    frames: np.ndarray             # (k,) int source frames where it is seen
    centroids: np.ndarray          # (k, 2) float64 component centroids
    areas: np.ndarray              # (k,) float64 px
    boxes: np.ndarray              # (k, 4) int (x0, y0, w, h)
    clean: np.ndarray              # (k,) bool
    colour: tuple                  # mean RGB over clean frames (0..255)
    playable: int = 0              # clean frames in runs of at least min_segment

    def at(self, t: int) -> int | None:
        """Row of source frame t, or None."""
        k = int(np.searchsorted(self.frames, t))
        return k if k < len(self.frames) and self.frames[k] == t else None


def track_subjects(observations: list, *, image_size: tuple[int, int],
                   config: ExtractionConfig = ExtractionConfig()) -> list[Subject]:
    """Follow every subject through per-frame components (`_observe_frame` dicts).

    Matching, frame by frame: a live track (seen in the last 3 frames) may take a component
    within reach (max_step of the frame diagonal from its predicted centroid) whose colour
    histogram is within identity_gate of the track's own; among those, pairs are matched
    exclusively, cheapest first, by distance / reach + appearance_weight * histogram distance +
    size_weight * |ln area ratio| + shape_weight * |ln elongation ratio|. A track left without a
    component shares the nearest blob within reach that is big enough to hold it too (two subjects
    merged: the blob's area is at least its owner's typical area plus half the track's) or that it
    touches (one hides the other), for at most max_merged_frames in a row; otherwise it waits, and
    ends after 3 frames unseen. A component no track takes starts a new track (a new
    subject: one that entered, or one that changed identity).
    A frame is clean when the subject is seen alone (not merged), away from the border, within
    merge_ratio/split_ratio of its median area, and within identity_gate of its median histogram.
    Returns the subjects ranked by clean frames in runs of at least min_segment (most first; ties:
    the bigger first).
    Raises ClipError when the matte is empty in every frame."""
    if sum(len(o["areas"]) for o in observations) == 0:
        raise ClipError("no subject found: the matte is empty in every frame; check the method "
                        "(chroma key colour, or a plate that is not the background) and low/high")
    reach = config.max_step * float(np.hypot(*image_size))
    tracks: list[dict] = []
    for t, obs in enumerate(observations):
        cents, areas, hists, elong = obs["cents"], obs["areas"], obs["hists"], obs["elongation"]
        live = [k for k, tr in enumerate(tracks) if t - tr["last"] <= 3]
        pairs, near = [], {}
        for k in live:
            tr = tracks[k]
            if not len(areas):
                continue
            predicted = np.asarray(tr["pos"]) + (t - tr["last"]) * np.asarray(tr["vel"])
            d = np.hypot(*(cents - predicted).T)
            within = np.flatnonzero(d < reach)
            if within.size:
                near[k] = within[np.argsort(d[within])]
            look = colour_histogram_distance(tr["hist"][None], hists[within])
            size = np.abs(np.log(areas[within] / tr["area"]))
            shape = np.abs(np.log(elong[within] / tr["elong"]))
            cost = (d[within] / reach + config.appearance_weight * look
                    + config.size_weight * np.minimum(size, 3.0) + config.shape_weight * np.minimum(shape, 3.0))
            pairs.extend((float(cost[i]), k, int(c)) for i, c in enumerate(within)
                         if look[i] <= config.identity_gate)
        pairs.sort()
        claims: dict = {}  # component -> the tracks that take it
        placed, shared = set(), set()
        for _, k, c in pairs:  # exclusive matching, cheapest pairs first
            if k not in placed and c not in claims:
                placed.add(k)
                claims[c] = [k]
        for k in live:  # a track left without a component of its own: merged into a blob?
            tr = tracks[k]
            if k in placed or k not in near or tr["sharing"] >= config.max_merged_frames:
                continue
            predicted = np.asarray(tr["pos"]) + (t - tr["last"]) * np.asarray(tr["vel"])
            for c in near[k]:
                owners = claims.get(int(c), [])
                held = sum(tracks[o]["area"] for o in owners)
                # big enough to hold the owners and (half of) this one too (a blob nobody owns
                # must be clearly bigger than this track alone), or touching it: one passing in
                # front of the other hides it without making the blob much bigger
                room = held + 0.5 * tr["area"] if owners else 1.3 * tr["area"]
                contact = 1.2 * (np.sqrt(tr["area"] / np.pi) + np.sqrt(areas[c] / np.pi))
                if areas[c] >= room or float(np.hypot(*(cents[c] - predicted))) <= contact:
                    placed.add(k)
                    shared.add(int(c))
                    claims.setdefault(int(c), []).append(k)
                    break
        for c in range(len(areas)):
            if c not in claims:
                tracks.append({"rows": [], "last": t, "pos": tuple(cents[c]), "vel": (0.0, 0.0),
                               "hist": hists[c].copy(), "area": float(areas[c]),
                               "elong": float(elong[c]), "exclusive": 0, "sharing": 0})
                claims[c] = [len(tracks) - 1]
        for c, owners in claims.items():
            alone = len(owners) == 1 and c not in shared
            for k in owners:
                tr = tracks[k]
                if tr["rows"] and alone:
                    step = (np.asarray(cents[c]) - np.asarray(tr["pos"])) / max(t - tr["last"], 1)
                    tr["vel"] = tuple(0.5 * np.asarray(tr["vel"]) + 0.5 * step)
                elif not alone:
                    tr["vel"] = (0.0, 0.0)  # a blob's centroid says little of each one's motion
                if alone:  # the appearance model learns from frames where it is seen alone
                    rate = 1.0 / min(tr["exclusive"] + 1, 10)
                    tr["hist"] = (1 - rate) * tr["hist"] + rate * hists[c]
                    tr["area"] = float(np.exp((1 - rate) * np.log(tr["area"]) + rate * np.log(areas[c])))
                    tr["elong"] = float(np.exp((1 - rate) * np.log(tr["elong"]) + rate * np.log(elong[c])))
                    tr["exclusive"] += 1
                tr["sharing"] = 0 if alone else tr["sharing"] + 1
                tr["rows"].append((t, c, not alone))
                tr["pos"] = tuple(cents[c])
                tr["last"] = t
    subjects = []
    for tr in tracks:
        frames = np.array([r[0] for r in tr["rows"]], np.int64)
        comps = [r[1] for r in tr["rows"]]
        merged = np.array([r[2] for r in tr["rows"]], bool)
        obs = [observations[t] for t in frames]
        areas = np.array([o["areas"][c] for o, c in zip(obs, comps)], np.float64)
        touch = np.array([o["touches"][c] for o, c in zip(obs, comps)], bool)
        hists = np.array([o["hists"][c] for o, c in zip(obs, comps)], np.float32)
        means = np.array([o["means"][c] for o, c in zip(obs, comps)], np.float32)
        ok = ~merged & ~touch
        basis = ok if ok.any() else np.ones(len(frames), bool)
        typical = float(np.median(areas[basis]))
        typical_hist = np.median(hists[basis], axis=0)
        typical_hist /= max(float(typical_hist.sum()), 1e-9)
        itself = colour_histogram_distance(hists, typical_hist[None]) <= config.identity_gate
        clean = ok & itself & (areas <= config.merge_ratio * typical) & (areas >= config.split_ratio * typical)
        colour = tuple(float(v) for v in (means[clean].mean(axis=0) if clean.any() else means.mean(axis=0)))
        subjects.append(Subject(-1, frames, np.array([o["cents"][c] for o, c in zip(obs, comps)]).reshape(-1, 2),
                                areas, np.array([o["boxes"][c] for o, c in zip(obs, comps)]).reshape(-1, 4),
                                clean, colour, _playable(frames, clean, config.min_segment).sum()))
    # ties (two subjects seen whole equally long): the bigger one, then the earlier one
    subjects.sort(key=lambda s: (-int(s.playable), -int(s.clean.sum()), -float(np.median(s.areas)),
                                 int(s.frames[0])))
    for rank, s in enumerate(subjects):
        s.index = rank
    return subjects


def _playable(frames: np.ndarray, clean: np.ndarray, min_segment: int) -> np.ndarray:
    """(k,) bool: clean rows in runs of consecutive source frames at least min_segment long."""
    out = np.zeros(len(frames), bool)
    kept = np.flatnonzero(clean)
    if not kept.size:
        return out
    t = frames[kept]
    run = np.cumsum(np.r_[True, np.diff(t) != 1])
    long_enough = np.bincount(run)[run] >= min_segment
    out[kept[long_enough]] = True
    return out


def _choose(subjects: list[Subject], config: ExtractionConfig, t_count: int,
            image_size: tuple[int, int]) -> Subject:
    """The subject `config.pick` points at, else the `config.subject`-th."""
    whole = [s for s in subjects if s.playable > 0]
    if not whole:
        if not any(s.clean.any() for s in subjects):
            raise ClipError("the subject touches the frame border (or merges with another) in every "
                            "frame: nothing can be cut out whole; use footage where it is seen clear "
                            "of the edges")
        raise ClipError(f"the subject is seen whole in fewer than {config.min_segment} consecutive "
                        "frames anywhere: no usable segment; use a longer clip where it is seen clear "
                        "of the edges and of other subjects, or lower min_segment")
    if config.pick is None:
        if config.subject >= len(whole):
            raise ClipError(f"--subject {config.subject} asked for, but only {len(whole)} subjects are "
                            f"ever seen whole long enough to play; give --subject below {len(whole)}")
        return whole[config.subject]
    x, y = float(config.pick[0]), float(config.pick[1])
    t = int(config.pick[2]) if len(config.pick) == 3 else 0
    where = f"--pick {x:g},{y:g},{t}"
    if t >= t_count:
        raise ClipError(f"{where}: the clip has frames 0..{t_count - 1}; give a frame in that range")
    seen = [(s, s.at(t)) for s in subjects]
    seen = [(s, k) for s, k in seen if k is not None]
    if not seen:
        raise ClipError(f"{where}: no subject is seen in frame {t}; pick another frame")

    def miss(s: Subject, k: int) -> float:  # 0 inside the box, else the distance to it
        bx, by, bw, bh = s.boxes[k]
        return float(np.hypot(max(bx - x, 0, x - (bx + bw)), max(by - y, 0, y - (by + bh))))

    hits = sorted(seen, key=lambda sk: (miss(*sk), float(np.hypot(*(sk[0].centroids[sk[1]] - (x, y))))))
    s, k = hits[0]
    if miss(s, k) > 0.05 * float(np.hypot(*image_size)) + 4:
        there = ", ".join(f"({c[0]:.0f},{c[1]:.0f})" for c in (sk[0].centroids[sk[1]] for sk in seen[:8]))
        raise ClipError(f"{where}: no subject at that point of frame {t}; subjects there are at {there}")
    if s.playable == 0:
        raise ClipError(f"{where}: that subject is never seen whole for {config.min_segment} frames in a "
                        "row (it merges with others or touches the border); pick another")
    return s


# --- velocities, cutting and assembly ---------------------------------------------------------------

def smooth_velocities(positions: np.ndarray, segments: np.ndarray, *, smooth_frames: int = 5) -> np.ndarray:
    """(N, 2) centroid positions -> (N, 2) float32 velocities in px/frame, within segments only.

    velocity[i] = positions[i+1] - positions[i] (the last frame of a segment repeats its
    predecessor's), then a binomial kernel of `smooth_frames` taps, edge-padded per segment."""
    positions = np.asarray(positions, np.float64)
    segments = np.asarray(segments)
    kernel = np.array([1.0])
    for _ in range(smooth_frames - 1):
        kernel = np.convolve(kernel, [0.5, 0.5])
    half = smooth_frames // 2
    out = np.zeros(positions.shape, np.float32)
    bounds = np.flatnonzero(np.diff(segments) != 0) + 1
    for start, stop in zip(np.r_[0, bounds], np.r_[bounds, len(segments)]):  # per segment
        p = positions[start:stop]
        if len(p) < 2:
            continue
        v = np.diff(p, axis=0)
        v = np.concatenate([v, v[-1:]], axis=0)  # (L, 2)
        padded = np.pad(v, ((half, half), (0, 0)), mode="edge")
        out[start:stop] = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], axis=1)
    return out


def _cut(alpha: np.ndarray, colour: np.ndarray, labels: np.ndarray, cents: np.ndarray,
         boxes: np.ndarray, centroid_hint, pad: int):
    """One subject's crop from one frame: (crop (h, w, 4) uint8 registered RGBA, left, top,
    centroid (x, y) source px). `left`/`top`: px from the crop's left/top edge to the centre of
    the registered square, whose pixel centre (S-1)/2 is the alpha centroid."""
    height, width = alpha.shape
    c = int(np.argmin(np.hypot(*(cents - np.asarray(centroid_hint)).T)))  # the subject's component
    x, y, w, h = (int(v) for v in boxes[c])
    wx0, wy0 = max(x - 4, 0), max(y - 4, 0)  # its box grown by the dilation's reach and more
    wx1, wy1 = min(x + w + 4, width), min(y + h + 4, height)
    window = (slice(wy0, wy1), slice(wx0, wx1))
    lab = labels[window]
    own = (lab == c + 1).astype(np.uint8)
    others = ((lab > 0) & (own == 0)).astype(np.uint8)
    grow = np.ones((5, 5), np.uint8)
    # its component grown by 2 px keeps the soft edge, less the rim shared with a neighbour
    region = cv2.dilate(own, grow) & ((own == 1) | (cv2.dilate(others, grow) == 0))
    a = alpha[window] * region  # (h, w) float32
    ys, xs = np.nonzero(a > 0)
    weight = a[ys, xs].astype(np.float64)
    cx, cy = float((xs * weight).sum() / weight.sum()), float((ys * weight).sum() / weight.sum())
    bx0, by0, bx1, by1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    left = int(np.ceil(cx + 0.5 - bx0)) + 1 + pad
    top = int(np.ceil(cy + 0.5 - by0)) + 1 + pad
    tx, ty = bx0 - cx - 0.5 + left, by0 - cy - 0.5 + top  # box px -> crop px
    w_out = int(np.ceil(bx1 - bx0 + tx)) + pad
    h_out = int(np.ceil(by1 - by0 + ty)) + pad
    box = (slice(by0, by1), slice(bx0, bx1))
    a_box = a[box]
    premultiplied = np.concatenate([colour[window][box].astype(np.float32) * a_box[..., None],
                                    a_box[..., None] * 255], axis=2)
    out = cv2.warpAffine(premultiplied, np.float32([[1, 0, tx], [0, 1, ty]]), (w_out, h_out),
                         flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha_out = out[..., 3:] / 255
    rgb = out[..., :3] / np.maximum(alpha_out, 1e-6)
    rgb[alpha_out[..., 0] < 1e-4] = 0
    crop = np.clip(np.round(np.concatenate([rgb, out[..., 3:]], axis=2)), 0, 255).astype(np.uint8)
    return crop, left, top, (cx + wx0, cy + wy0)


class _CropBuffer:
    """Crops (h, w, 4) uint8 appended into one (P, 4) buffer: `pixels` (a view of what is used),
    `offsets` (N+1,), `shapes` [(h, w)]. Allocated once at an upper bound (np.empty: pages not
    written stay unmapped), doubled if ever exceeded."""

    def __init__(self, bound_pixels: int):
        self._buffer = np.empty((max(int(bound_pixels), 16), 4), np.uint8)
        self.offsets = [0]
        self.shapes: list = []

    def add(self, crop: np.ndarray) -> None:
        start, size = self.offsets[-1], crop.shape[0] * crop.shape[1]
        if start + size > self._buffer.shape[0]:
            grown = np.empty((2 * (start + size), 4), np.uint8)
            grown[:start] = self._buffer[:start]
            self._buffer = grown
        self._buffer[start:start + size] = crop.reshape(-1, 4)
        self.offsets.append(start + size)
        self.shapes.append(crop.shape[:2])

    @property
    def pixels(self) -> np.ndarray:
        return self._buffer[:self.offsets[-1]]


def _assemble(crops: _CropBuffer, lefts: list, tops: list, centroids: np.ndarray, frames: np.ndarray,
              fps: float, config: ExtractionConfig, info: dict) -> "SpriteClip":
    """One subject's crops -> SpriteClip: the square's side S covers every crop about the centre."""
    shapes = crops.shapes
    half = max(max(max(l, w - l), max(t, h - t)) for (h, w), l, t in zip(shapes, lefts, tops))
    side = 2 * half
    boxes = np.array([(half - l, half - t, w, h) for (h, w), l, t in zip(shapes, lefts, tops)],
                     np.int32).reshape(-1, 4)
    stored = SpriteFrames(crops.pixels, np.asarray(crops.offsets, np.int64), boxes, side)
    segments = np.cumsum(np.r_[True, np.diff(frames) != 1]).astype(np.int32) - 1
    velocities = smooth_velocities(centroids, segments, smooth_frames=config.smooth_frames)
    sprite = SpriteClip(stored, velocities, centroids.astype(np.float32), segments,
                        frames.astype(np.int32), np.zeros(len(frames), bool), float(fps),
                        dict(info, kept_frames=int(len(frames)), segments=int(segments.max() + 1), size=side))
    mirror = config.mirror
    if mirror is None:
        from precompute.gait import analyze_gait

        mirror = not analyze_gait(sprite).in_place
    return mirror_sprite(sprite) if mirror else sprite


def extract_sprites(frames, *, fps: float, config: ExtractionConfig = ExtractionConfig(),
                    plate: np.ndarray | None = None, every: bool = False,
                    progress: bool = False) -> list["SpriteClip"]:
    """Cut subjects out of a clip: the chosen one (config.pick, else config.subject), or with
    `every` one SpriteClip per subject seen whole long enough to play (ranked, most frames first).

    frames: (T, H, W, 3) uint8, or a callable giving a fresh iterator of (H, W, 3) uint8 frames
    (it is called three times: survey, observe, cut). plate: the background (H, W, 3) uint8 for
    the difference method; None = per-pixel median of sampled frames.
    Memory: a sample of at most config.plate_samples frames, one frame's mattes, the components'
    numbers, and the output crops; never the whole clip.
    Raises ClipError when no subject is found, or it is never seen whole."""
    from tqdm import tqdm

    passes, count = _passes(frames)
    t_count, (height, width), samples = _survey(passes, count, config.plate_samples)
    method = config.method
    if method == "auto":
        method = "chroma" if plate is None and _border_is_key(np.stack(samples[:16]), config.key) else "difference"
    if plate is not None:
        plate = np.asarray(plate)
        if plate.shape != (height, width, 3) or plate.dtype != np.uint8:
            raise ClipError(f"plate must be ({height}, {width}, 3) uint8 like the frames, got "
                            f"{plate.shape} {plate.dtype}")
    if method == "difference" and plate is None:
        plate = _banded_median(samples)
    del samples
    observations, spread = [], np.zeros(t_count, np.float32)
    for t, frame in tqdm(_checked(passes()), total=t_count, desc="sprite: mattes", unit="frame",
                         disable=not progress, leave=False):
        if t >= t_count:
            raise ClipError(f"the clip gave more frames on a second pass ({t + 1}) than on the first "
                            f"({t_count}); it must not change while it is read")
        alpha, colour = _matte(frame, method, plate, config)
        observations.append(_observe_frame(alpha, colour, config))
        spread[t] = _frame_spread(alpha, colour, config.threshold)
    if len(observations) != t_count:
        raise ClipError(f"the clip gave {len(observations)} frames on a second pass, {t_count} on the "
                        "first; it must not change while it is read")
    usable = np.ones(t_count, bool)
    if config.drop_colourless:
        # a grey subject in a coloured clip: a matte pass appended to the footage, not the subject
        has_fg = spread > 0
        if has_fg.any() and float(np.percentile(spread[has_fg], 90)) > 10.0:
            usable = ~(has_fg & (spread < 4.0))
    observations = [o if usable[t] else _empty(o) for t, o in enumerate(observations)]
    subjects = track_subjects(observations, image_size=(height, width), config=config)
    del observations
    chosen = [s for s in subjects if s.playable > 0] if every else [_choose(subjects, config, t_count, (height, width))]
    if not chosen:
        _choose(subjects, dataclass_replace(config, pick=None, subject=0), t_count, (height, width))  # its error
    wanted: dict = {}  # source frame -> [(subject slot, row)]
    rows = []
    for slot, s in enumerate(chosen):
        playable = np.flatnonzero(_playable(s.frames, s.clean, config.min_segment))
        rows.append(playable)
        for k in playable:
            wanted.setdefault(int(s.frames[k]), []).append((slot, int(k)))
    # crops are written straight into one buffer per subject, sized from the boxes tracking saw
    # (an upper bound): pages never written are never resident, so memory is the crops' own
    cut = [{"crops": _CropBuffer(int(sum((w + 2 * config.pad + 10) * (h + 2 * config.pad + 10)
                                         for _, _, w, h in s.boxes[rows[slot]]))),
            "lefts": [], "tops": [], "centroids": []} for slot, s in enumerate(chosen)]
    for t, frame in tqdm(_checked(passes()), total=t_count, desc="sprite: cut", unit="frame",
                         disable=not progress, leave=False):
        if t not in wanted:
            continue
        alpha, colour = _matte(frame, method, plate, config)
        labels, cents, _, _, boxes, _, _ = _components(alpha, config.threshold, config.min_area,
                                                       config.border_margin)
        for slot, k in wanted[t]:
            crop, left, top, centroid = _cut(alpha, colour, labels, cents, boxes, chosen[slot].centroids[k],
                                             config.pad)
            out = cut[slot]
            out["crops"].add(crop)
            out["lefts"].append(left)
            out["tops"].append(top)
            out["centroids"].append(centroid)
    sprites = []
    base = {"method": method, "source_frames": int(t_count), "colourless_frames": int((~usable).sum()),
            "source_width": int(width), "source_height": int(height),
            "subjects": int(sum(1 for s in subjects if s.playable > 0))}
    for slot, s in enumerate(chosen):
        out = cut[slot]
        info = dict(base, subject=int(s.index), subject_colour=[round(v, 1) for v in s.colour])
        sprites.append(_assemble(out["crops"], out["lefts"], out["tops"],
                                 np.asarray(out["centroids"], np.float64).reshape(-1, 2),
                                 s.frames[rows[slot]], fps, config, info))
        cut[slot] = None
    return sprites


def extract_sprite(frames, *, fps: float, config: ExtractionConfig = ExtractionConfig(),
                   plate: np.ndarray | None = None, progress: bool = False) -> "SpriteClip":
    """Cut the chosen subject (config.pick, else config.subject: 0 = the one seen whole longest)
    out of a clip into a SpriteClip; see `extract_sprites`."""
    return extract_sprites(frames, fps=fps, config=config, plate=plate, progress=progress)[0]


def mirror_sprite(sprite: "SpriteClip", *, source_width: float | None = None) -> "SpriteClip":
    """The sprite plus its left-right mirror image: 2N frames, mirrored velocities (-vx, vy)."""
    width = float(source_width if source_width is not None else sprite.info.get("source_width", 0.0))
    flipped_positions = sprite.positions.copy()
    flipped_positions[:, 0] = width - 1 - flipped_positions[:, 0]
    flipped_velocities = sprite.velocities * np.float32([-1, 1])
    info = dict(sprite.info, mirrored=True)
    return SpriteClip(
        SpriteFrames.concatenate([sprite.crops, sprite.crops.mirrored()]),
        np.concatenate([sprite.velocities, flipped_velocities]).astype(np.float32),
        np.concatenate([sprite.positions, flipped_positions]).astype(np.float32),
        np.concatenate([sprite.segments, sprite.segments + sprite.segments.max() + 1]).astype(np.int32),
        np.concatenate([sprite.source_frames, sprite.source_frames]).astype(np.int32),
        np.concatenate([sprite.mirrored, ~sprite.mirrored]),
        sprite.fps, info)

"""Video sprites, extraction: cut one subject out of a clip with alpha and follow it.

Pipeline (section 9 of the algorithms reference), all array-in, array-out:
1. soft alpha per frame: chroma key (blue or green screen, with spill suppression) or the
   difference from a background plate (the per-pixel median over the clip, or a given image);
2. connected components of the alpha, linked frame to frame into tracks (nearest predicted
   centroid), so that one subject among several is isolated and followed;
3. frames where the followed subject touches the border, merges with another subject or
   vanishes are dropped; each run of clean frames becomes a segment, and a segment's last frame
   has no natural successor (a dead end the control analysis must plan around);
4. each kept frame is registered on its alpha centroid into a fixed-size RGBA frame;
5. velocity = difference of the unregistered centroids between consecutive frames of a segment,
   smoothed with a binomial kernel;
6. optional mirroring (left-right) doubles the directions covered.

Conventions: frames (T, H, W, 3) uint8 RGB; alpha (T, H, W) float32 in 0..1; sprite frames
(N, S, S, 4) uint8 RGBA with straight (not premultiplied) colour; positions and velocities
(N, 2) float32 (x, y) in source pixels, image axes (x right, y down), velocity in px/frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from precompute.errors import ClipError, ConfigError

__all__ = ["ExtractionConfig", "SpriteClip", "extract_sprite", "difference_alpha", "chroma_key",
           "median_plate", "track_subject", "mirror_sprite", "smooth_velocities"]


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
    border_margin: int = 1       # px: a subject this close to the border is cut off, dropped
    min_segment: int = 6         # shorter runs of clean frames are dropped (too short to play)
    smooth_frames: int = 5       # binomial smoothing of velocities; 1 = none, odd numbers
    pad: int = 4                 # px of margin around the largest subject in the registered frame
    subject: int = 0             # which track to follow: 0 = the one with most clean frames, 1 next..
    mirror: bool = False         # append left-right mirrored frames (doubles the directions)
    drop_colourless: bool = True  # drop frames whose foreground is grey (mean channel spread < 4)
                                  # while others are coloured: a matte pass appended to footage,
                                  # as from frame ~750 of the shared fish clip
    plate_samples: int = 31      # frames sampled for the per-pixel median plate (odd: a true median)

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


@dataclass(frozen=True, eq=False)
class SpriteClip:
    """A sprite clip: registered RGBA frames and their motion. N frames of side S.

    rgba (N, S, S, 4) uint8, alpha centroid at the frame centre ((S-1)/2, (S-1)/2);
    velocities (N, 2) float32 px/frame; positions (N, 2) float32 unregistered centroids;
    segments (N,) int32: frame i -> i+1 is a natural step iff segments[i] == segments[i+1];
    source_frames (N,) int32 decoded frame index; mirrored (N,) bool; fps.
    """

    rgba: np.ndarray
    velocities: np.ndarray
    positions: np.ndarray
    segments: np.ndarray
    source_frames: np.ndarray
    mirrored: np.ndarray
    fps: float
    info: dict = field(default_factory=dict)  # extraction settings and counts, for the manifest

    def __post_init__(self):
        rgba = self.rgba
        if not (isinstance(rgba, np.ndarray) and rgba.ndim == 4 and rgba.shape[3] == 4
                and rgba.dtype == np.uint8 and rgba.shape[1] == rgba.shape[2]):
            raise ClipError(f"sprite rgba must be (N, S, S, 4) uint8, got "
                            f"{getattr(rgba, 'shape', None)} {getattr(rgba, 'dtype', None)}")
        n = rgba.shape[0]
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
        return int(self.rgba.shape[0])

    @property
    def size(self) -> int:
        return int(self.rgba.shape[1])

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
        rgba = np.ascontiguousarray(rgba)
        n = rgba.shape[0] if np.ndim(rgba) == 4 else 0
        velocities = np.asarray(velocities, np.float32)
        segments = np.zeros(n, np.int32) if segments is None else np.asarray(segments, np.int32)
        if positions is None:
            positions = np.cumsum(np.concatenate([np.zeros((1, 2), np.float32), velocities[:-1]]), axis=0)
        return cls(rgba, velocities, np.asarray(positions, np.float32), segments,
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
    return np.median(frames[picks], axis=0).astype(np.uint8)  # (H, W, 3)


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


# --- components and tracking -------------------------------------------------------------------

def _components(alpha: np.ndarray, threshold: float, min_area: int, border_margin: int, *,
                labels: bool = True):
    """Components of one matte (H, W): (labels (H, W) int32 with 0 = none, centroids (k, 2),
    areas (k,), touches_border (k,) bool); label c+1 is component c."""
    height, width = alpha.shape
    mask = (alpha > threshold).astype(np.uint8)
    n, lab, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= min_area) + 1
    remap = np.zeros(n, np.int32)
    remap[keep] = np.arange(1, keep.size + 1)
    x0, y0 = stats[keep, cv2.CC_STAT_LEFT], stats[keep, cv2.CC_STAT_TOP]
    x1 = x0 + stats[keep, cv2.CC_STAT_WIDTH]
    y1 = y0 + stats[keep, cv2.CC_STAT_HEIGHT]
    m = border_margin
    touches = (x0 < m) | (y0 < m) | (x1 > width - m) | (y1 > height - m)
    return (remap[lab] if labels else None, cents[keep].astype(np.float64), stats[keep, cv2.CC_STAT_AREA].astype(np.float64),
            touches.astype(bool))


def track_subject(components, *, image_size: tuple[int, int], max_step: float = 0.15,
                  merge_ratio: float = 1.7, split_ratio: float = 0.45, subject: int = 0):
    """Follow one subject through per-frame components.

    components: per frame (centroids (k, 2), areas (k,), touches_border (k,)) as `_components`
    gives; image_size (height, width). Components are linked frame to frame into tracks (each
    track takes the nearest component to its predicted centroid within `max_step` of the frame
    diagonal; nearest pairs are matched first, one component per track; a track left over
    shares its nearest component: a merge). Returns (centroid (T, 2) float64 of the followed subject's component, nan where
    absent; clean (T,) bool). A frame is clean when the subject is there, touches no border, and
    has neither merged with another subject (one component claimed by two tracks, or grown by
    merge_ratio over the track's median area) nor split (shrunk below split_ratio of it).
    `subject` 0 follows the track with the most clean frames, 1 the next, and so on.
    Raises ClipError when no subject is found or it is never clean.
    """
    t_count = len(components)
    if sum(len(c[1]) for c in components) == 0:
        raise ClipError("no subject found: the matte is empty in every frame; check the method "
                        "(chroma key colour, or a plate that is not the background) and low/high")
    reach = max_step * float(np.hypot(*image_size))
    tracks = []  # dicts: frames, comps, areas, merged, touch, pos, vel, last
    for t in range(t_count):  # link frame t's components to the live tracks
        cents, areas, touches = components[t]
        pairs = []
        for k, tr in enumerate(tracks):
            gap = t - tr["last"]
            if gap > 3 or not len(areas):
                continue
            predicted = np.asarray(tr["pos"]) + gap * np.asarray(tr["vel"])
            d = np.hypot(*(cents - predicted).T)
            pairs.extend((float(d[c]), k, int(c)) for c in np.flatnonzero(d < reach))
        pairs.sort()
        claims: dict = {}
        placed = set()
        for _, k, c in pairs:  # exclusive matching, nearest pairs first
            if k not in placed and c not in claims:
                placed.add(k)
                claims[c] = [k]
        for _, k, c in pairs:  # a track left without a component of its own shares its nearest
            if k not in placed:  # one: two subjects merged into one blob
                placed.add(k)
                claims[c].append(k)
        for c in range(len(areas)):
            if c not in claims:
                tracks.append({"frames": [], "comps": [], "areas": [], "merged": [], "touch": [],
                               "pos": tuple(cents[c]), "vel": (0.0, 0.0), "last": t})
                claims[c] = [len(tracks) - 1]
        for c, owners in claims.items():
            for k in owners:
                tr = tracks[k]
                if tr["frames"] and len(owners) == 1:
                    step = (np.asarray(cents[c]) - np.asarray(tr["pos"])) / max(t - tr["last"], 1)
                    tr["vel"] = tuple(0.5 * np.asarray(tr["vel"]) + 0.5 * step)
                tr["frames"].append(t)
                tr["comps"].append(tuple(cents[c]))
                tr["areas"].append(areas[c])
                tr["merged"].append(len(owners) > 1)
                tr["touch"].append(bool(touches[c]))
                tr["pos"] = tuple(cents[c])
                tr["last"] = t
    cleans = []
    for tr in tracks:
        areas = np.asarray(tr["areas"])
        ok = ~np.asarray(tr["merged"], bool) & ~np.asarray(tr["touch"], bool)
        typical = float(np.median(areas[ok])) if ok.any() else float(np.median(areas))
        cleans.append(ok & (areas <= merge_ratio * typical) & (areas >= split_ratio * typical))
    order = sorted(range(len(tracks)), key=lambda k: -int(cleans[k].sum()))
    if cleans[order[0]].sum() == 0:
        raise ClipError("the subject touches the frame border (or merges with another) in every "
                        "frame: nothing can be cut out whole; use footage where it is seen clear "
                        "of the edges")
    if subject >= len(order) or cleans[order[subject]].sum() == 0:
        whole = sum(1 for c in cleans if c.any())
        raise ClipError(f"subject={subject} asked for, but only {whole} subjects are ever seen whole; "
                        f"give a subject below {whole}")
    chosen = tracks[order[subject]]
    centroid = np.full((t_count, 2), np.nan)
    clean = np.zeros(t_count, bool)
    centroid[chosen["frames"]] = np.asarray(chosen["comps"])
    clean[chosen["frames"]] = cleans[order[subject]]
    return centroid, clean


# --- registration and velocities ---------------------------------------------------------------

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


def _register(frame: np.ndarray, alpha: np.ndarray, centroid, size: int) -> np.ndarray:
    """Cut a (size, size, 4) RGBA frame with the centroid at its centre (sub-pixel, bilinear)."""
    centre = (size - 1) / 2
    shift = np.float32([[1, 0, centre - centroid[0]], [0, 1, centre - centroid[1]]])
    premultiplied = np.concatenate([frame.astype(np.float32) * alpha[..., None], alpha[..., None] * 255], axis=2)
    out = cv2.warpAffine(premultiplied, shift, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)  # (S, S, 4)
    a = out[..., 3:] / 255
    rgb = out[..., :3] / np.maximum(a, 1e-6)
    rgb[a[..., 0] < 1e-4] = 0
    return np.clip(np.round(np.concatenate([rgb, out[..., 3:]], axis=2)), 0, 255).astype(np.uint8)


def mirror_sprite(sprite: SpriteClip, *, source_width: float | None = None) -> SpriteClip:
    """The sprite plus its left-right mirror image: 2N frames, mirrored velocities (-vx, vy)."""
    width = float(source_width if source_width is not None else sprite.info.get("source_width", 0.0))
    flipped_positions = sprite.positions.copy()
    flipped_positions[:, 0] = width - 1 - flipped_positions[:, 0]
    flipped_velocities = sprite.velocities * np.float32([-1, 1])
    info = dict(sprite.info, mirrored=True)
    return SpriteClip(
        np.concatenate([sprite.rgba, sprite.rgba[:, :, ::-1]]),
        np.concatenate([sprite.velocities, flipped_velocities]).astype(np.float32),
        np.concatenate([sprite.positions, flipped_positions]).astype(np.float32),
        np.concatenate([sprite.segments, sprite.segments + sprite.segments.max() + 1]).astype(np.int32),
        np.concatenate([sprite.source_frames, sprite.source_frames]).astype(np.int32),
        np.concatenate([sprite.mirrored, ~sprite.mirrored]),
        sprite.fps, info)


def extract_sprite(frames: np.ndarray, *, fps: float, config: ExtractionConfig = ExtractionConfig(),
                   plate: np.ndarray | None = None) -> SpriteClip:
    """Cut the followed subject out of a clip (T, H, W, 3) uint8 into a SpriteClip.

    plate: the background (H, W, 3) uint8 for the difference method; None = per-pixel median.
    Memory: one uint8 matte per frame besides the frames (no float per-pixel arrays of the clip).
    Raises ClipError when no subject is found, or it is never seen whole."""
    frames = _check_frames(frames)
    method = config.method
    if method == "auto":
        method = "chroma" if plate is None and _border_is_key(frames, config.key) else "difference"
    if method == "difference" and plate is None:
        plate = median_plate(frames, samples=config.plate_samples)
    t_count, height, width = frames.shape[:3]
    mattes = np.empty((t_count, height, width), np.uint8)  # alpha * 255
    colours = frames.copy() if method == "chroma" else frames
    components, spread = [], np.zeros(t_count, np.float32)
    for t in range(t_count):  # one pass, frame by frame: matte, components, colourfulness
        if method == "chroma":
            a, despilled = chroma_key(frames[t:t + 1], key=config.key, low=config.low, high=config.high)
            colours[t] = despilled[0]
        else:
            a = difference_alpha(frames[t:t + 1], plate, low=config.low, high=config.high)
        a = a[0]
        mattes[t] = np.round(a * 255).astype(np.uint8)
        _, cents, areas, touches = _components(a, config.threshold, config.min_area, config.border_margin,
                                               labels=False)
        components.append((cents, areas, touches))
        fg = a > config.threshold
        if fg.any():
            px = colours[t][fg].astype(np.int16)  # (k, 3)
            spread[t] = float((px.max(axis=1) - px.min(axis=1)).mean())
    usable = np.ones(t_count, bool)
    if config.drop_colourless:
        # a grey subject in a coloured clip: a matte pass appended to the footage, not the subject
        has_fg = spread > 0
        if has_fg.any() and float(np.percentile(spread[has_fg], 90)) > 10.0:
            usable = ~(has_fg & (spread < 4.0))
    components = [c if usable[t] else (c[0][:0], c[1][:0], c[2][:0]) for t, c in enumerate(components)]
    centroid, clean = track_subject(components, image_size=(height, width), max_step=config.max_step,
                                    merge_ratio=config.merge_ratio, split_ratio=config.split_ratio,
                                    subject=config.subject)
    clean &= usable
    # segments: runs of consecutive clean frames, long enough to play
    kept = np.flatnonzero(clean)
    run_id = np.cumsum(np.r_[True, np.diff(kept) != 1]) if kept.size else kept
    long_enough = np.bincount(run_id)[run_id] >= config.min_segment if kept.size else kept.astype(bool)
    kept, run_id = kept[long_enough], run_id[long_enough]
    if kept.size < 2:
        raise ClipError(f"the subject is seen whole in fewer than {config.min_segment} consecutive "
                        "frames anywhere: no usable segment; use a longer clip where it is seen clear "
                        "of the edges and of other subjects, or lower min_segment")
    segments = np.unique(run_id, return_inverse=True)[1].astype(np.int32)
    grow = np.ones((5, 5), np.uint8)
    own_mattes, centroids, extents = [], [], []
    for t in kept:  # the subject's own matte: its component, grown by 2 px to keep the soft edge
        a = mattes[t].astype(np.float32) / 255
        labels, cents, _, _ = _components(a, config.threshold, config.min_area, config.border_margin)
        label = int(np.argmin(np.hypot(*(cents - centroid[t]).T))) + 1
        own = (labels == label).astype(np.uint8)
        others = ((labels > 0) & (own == 0)).astype(np.uint8)
        # the soft rim around the component, less the rim shared with a neighbour (ambiguous)
        region = cv2.dilate(own, grow) & ((own == 1) | (cv2.dilate(others, grow) == 0))
        a = a * region  # (H, W)
        ys, xs = np.nonzero(a > 0)
        w = a[ys, xs].astype(np.float64)
        cx, cy = float((xs * w).sum() / w.sum()), float((ys * w).sum() / w.sum())
        extents.append(max(cx - xs.min(), xs.max() - cx, cy - ys.min(), ys.max() - cy))
        box = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        own_mattes.append((box, a[box]))  # the bounding box only: memory stays small
        centroids.append((cx, cy))
    centroids = np.asarray(centroids, np.float64)  # (N, 2)
    size = int(2 * np.ceil(max(extents) + 1 + config.pad))
    rgba = np.stack([_register(colours[t][box], a, (c[0] - box[1].start, c[1] - box[0].start), size)
                     for t, (box, a), c in zip(kept, own_mattes, centroids)])
    velocities = smooth_velocities(centroids, segments, smooth_frames=config.smooth_frames)
    info = {"method": method, "source_frames": int(t_count), "kept_frames": int(kept.size),
            "segments": int(segments.max() + 1), "colourless_frames": int((~usable).sum()),
            "source_width": int(width), "source_height": int(height), "size": size}
    sprite = SpriteClip(rgba, velocities, centroids.astype(np.float32), segments,
                        kept.astype(np.int32), np.zeros(kept.size, bool), float(fps), info)
    return mirror_sprite(sprite) if config.mirror else sprite

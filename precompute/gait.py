"""Subjects that move in place: a walk cycle on a treadmill or a green screen.

A walker filmed on a treadmill barely moves its alpha centroid: steering it by the footage's
velocities (precompute/control.py) has nothing to choose from, and sliding it while a short run
of frames repeats shows a frozen stride gliding along. This module finds such a subject and what
the runtime (engine/sprite.py) needs to walk it instead:

- in place: the centroid's travel is small against the body's own motion. Both in px per frame of
  the source: centroid speed = median |velocity|; body motion = median displacement of the
  matte's outline between consecutive registered frames (2 * |alpha_i+1 - alpha_i| summed over
  pixels / the outline's length: a shape shifted rigidly by d px gives about d). In place when
  centroid speed < `in_place_ratio` x body motion.
- the gait's period (frames): the lag at which the pose repeats, the first clear minimum of the
  mean distance between frames i and i + lag of a segment (pose features as the control analysis
  makes them), refined to a fraction of a frame. A side view where both legs look alike repeats
  every step, so the period is then one step, not a stride; the stride length below follows suit.
- phase (N,) in [0, 1): where in the cycle each frame is. The longest segment counts frames
  from its start; every other segment is placed by its frames' nearest poses in that segment.
- ground speed (source px per frame): how fast the stance foot moves backward under the body,
  i.e. how fast the treadmill runs: the median horizontal shift between consecutive frames of the
  lowest band of the matte (the feet). Its sign says which way the subject faces (the foot moves
  against it). Where the feet give no steady answer (a march on the spot), `stride_share` of the
  subject's height per period.
- continuations (N,) int32: the frame to show after each frame while walking: i + 1 inside a
  segment; at a segment's end, the frame that best continues the pose (the frame before it looks
  like this one, the phase matches) with at least `min_cycle_frames` frames of run ahead and, in
  the same segment, at least that far back: so the walk never repeats a pose cycle shorter than
  `min_cycle_frames`.

Array-in, array-out; no I/O. Frames are read through `SpriteClip.frame(i)` where the clip has it.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from precompute.errors import ConfigError

__all__ = ["GaitConfig", "Gait", "analyze_gait", "describe_gait", "body_motion", "gait_period",
           "foot_speed", "sprite_frame"]


@dataclass(frozen=True)
class GaitConfig:
    in_place_ratio: float = 0.5    # in place when the centroid moves less than this share of the
                                   # body's own motion per frame; raise it to call more clips in place
    min_period_frames: int = 6     # shortest gait period looked for (frames)
    max_period_frames: int = 90    # longest (3 s at 30 fps); also at most 2/3 of the longest segment
    periodic_depth: float = 0.6    # a lag is a period when its mean pose distance is below this
                                   # share of the typical distance between frames (lower = stricter)
    foot_band_share: float = 0.03  # the lowest share of the subject's height read as the feet
    stride_share: float = 0.8      # fallback stride per period, as a share of the subject's height
    min_cycle_frames: int = 8      # no pose cycle shorter than this is repeated while walking
    feature_width: int = 24        # pose features' width (px), as the control analysis
    matte_side: int = 192          # mattes are measured shrunk to at most this side (px): memory
                                   # stays small for a 1000 px walker; larger = finer foot speed

    def __post_init__(self):
        if not 0 < self.in_place_ratio:
            raise ConfigError(f"in_place_ratio must be > 0, got {self.in_place_ratio}")
        if not 2 <= self.min_period_frames < self.max_period_frames:
            raise ConfigError("need 2 <= min_period_frames < max_period_frames, got "
                              f"{self.min_period_frames}, {self.max_period_frames}")
        if not 0 < self.foot_band_share < 1 or not self.stride_share > 0:
            raise ConfigError("foot_band_share must be in (0, 1) and stride_share > 0")
        if self.min_cycle_frames < 2:
            raise ConfigError(f"min_cycle_frames must be >= 2, got {self.min_cycle_frames}")


@dataclass(frozen=True, eq=False)
class Gait:
    """What `analyze_gait` found. Speeds in source px per frame; period in frames."""

    in_place: bool
    centroid_speed: float          # net travel of the alpha centroid per frame: over a period where
                                   # the pose repeats (its sway cancels), else the median |velocity|
    body_speed: float              # median outline displacement between registered frames
    period_frames: float | None    # the pose cycle's period; None when the pose does not repeat
    phases: np.ndarray | None      # (N,) float32 in [0, 1), None without a period
    ground_speed: float | None     # the treadmill's speed (stance foot), None without a period
    ground_from_feet: bool         # True: measured at the feet; False: stride_share x height / period
    facing: int                    # +1 faces right (+x), -1 left, in the footage's own frames
    subject_height: float          # px, median height of the matte
    continuations: np.ndarray      # (N,) int32: the next frame while walking
    wobble: np.ndarray             # (N, 2) float32 px: the centroid's sway about its mean over a
                                   # period (the legs move it); drawn back in so the body holds still
    config: GaitConfig

    @property
    def walks(self) -> bool:
        """In place with a pose cycle: the runtime walks it by ground speed and phase."""
        return self.in_place and self.period_frames is not None


def sprite_frame(sprite, index: int) -> np.ndarray:
    """The registered frame (S, S, 4) uint8 RGBA of a SpriteClip (its `frame(i)` accessor, or the
    dense `rgba` of older clips)."""
    frame = getattr(sprite, "frame", None)
    return frame(index) if callable(frame) else sprite.rgba[index]


def _alphas(sprite, max_side: int) -> tuple[np.ndarray, float]:
    """(N, s, s) uint8 mattes of the registered frames, shrunk to at most `max_side` px (memory
    O(N max_side^2) whatever the footage's size), and the factor s / S."""
    side = sprite.size
    factor = min(1.0, max_side / side)
    small = max(8, int(round(side * factor)))
    out = np.empty((sprite.n_frames, small, small), np.uint8)
    for i in range(sprite.n_frames):  # one frame at a time
        a = sprite_frame(sprite, i)[..., 3]
        out[i] = a if small == side else cv2.resize(a, (small, small), interpolation=cv2.INTER_AREA)
    return out, small / side


def body_motion(alphas: np.ndarray, has_successor: np.ndarray) -> np.ndarray:
    """(N, S, S) uint8 mattes -> (K,) float32 outline displacement (px) of each natural step:
    2 |a_{i+1} - a_i| summed / the outline length of a_i (a rigid shift by d px gives ~d)."""
    rows = np.flatnonzero(has_successor)
    out = np.empty(rows.size, np.float32)
    for k, i in enumerate(rows):
        a = alphas[i]
        changed = float(cv2.absdiff(alphas[i + 1], a).sum()) / 255
        mask = (a > 127).astype(np.uint8)
        outline = float(cv2.morphologyEx(mask, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).sum()) / 2
        out[k] = 2 * changed / max(outline, 1.0)
    return out


def gait_period(features: np.ndarray, segments: np.ndarray, *, config: GaitConfig = GaitConfig()):
    """(N, d) pose features, (N,) segments -> (period in frames or None, curve (L,) of the mean
    RMS distance between frames i and i + lag within a segment, lag = index)."""
    segments = np.asarray(segments)
    bounds = np.flatnonzero(np.diff(segments) != 0) + 1
    starts, stops = np.r_[0, bounds], np.r_[bounds, len(segments)]
    longest = int((stops - starts).max())
    top = min(config.max_period_frames, int(longest * 2 / 3))
    if top < config.min_period_frames + 2:
        return None, np.zeros(0, np.float32)
    x = np.asarray(features, np.float32)
    sums = np.zeros(top + 2)
    counts = np.zeros(top + 2)
    for start, stop in zip(starts, stops):  # per segment: lags stay inside it
        seg = x[start:stop]
        for lag in range(1, min(top + 2, len(seg))):
            d = np.sqrt(np.mean((seg[lag:] - seg[:-lag]) ** 2, axis=1))  # (L - lag,) RMS
            sums[lag] += d.sum()
            counts[lag] += d.size
    curve = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan).astype(np.float32)
    curve[0] = 0.0
    lags = np.arange(config.min_period_frames, top + 1)
    values = curve[lags]
    typical = float(np.nanmedian(curve[1:top + 1]))
    is_min = (values <= curve[lags - 1]) & (values <= curve[lags + 1])
    clear = is_min & (values < config.periodic_depth * typical)
    if not clear.any():
        return None, curve
    best = float(values[clear].min())
    # the first clear minimum nearly as deep as the deepest: the period, not a multiple of it
    lag = int(lags[clear & (values <= best * 1.25 + 0.05 * typical)][0])
    left, mid, right = curve[lag - 1], curve[lag], curve[lag + 1]
    bend = left - 2 * mid + right
    shift = 0.5 * (left - right) / bend if bend > 1e-9 else 0.0
    return float(lag + np.clip(shift, -0.5, 0.5)), curve


def foot_speed(alphas: np.ndarray, has_successor: np.ndarray, *, band_share: float = 0.03):
    """Median horizontal shift (px/frame, +x right) of the lowest band of the mattes between
    consecutive frames, and the share of steps that agree with its sign: (shift, agreement)."""
    rows = np.flatnonzero(has_successor)
    if rows.size == 0:
        return 0.0, 0.0
    solid = alphas > 127
    any_rows = solid.any(axis=2)  # (N, S)
    bottoms = np.array([np.flatnonzero(r).max() if r.any() else -1 for r in any_rows])
    tops = np.array([np.flatnonzero(r).min() if r.any() else -1 for r in any_rows])
    height = float(np.median((bottoms - tops + 1)[bottoms >= 0])) if (bottoms >= 0).any() else 0.0
    if height < 4:
        return 0.0, 0.0
    bottom = int(np.median(bottoms[bottoms >= 0]))
    band = max(2, int(round(band_share * height)))
    profiles = alphas[:, max(0, bottom - band + 1):bottom + 1].astype(np.float32).sum(axis=1)  # (N, S)
    side = profiles.shape[1]
    reach = max(2, side // 6)
    shifts = []
    for i in rows:
        a, b = profiles[i], profiles[i + 1]
        if a.sum() < 1 or b.sum() < 1:
            continue
        a = a - a.mean()
        b = b - b.mean()
        scores = np.array([np.dot(a[max(0, -s):side - max(0, s)], b[max(0, s):side - max(0, -s)])
                           for s in range(-reach, reach + 1)])  # b shifted by s matches a
        k = int(np.argmax(scores))
        shift = float(k - reach)
        if 0 < k < len(scores) - 1:
            bend = scores[k - 1] - 2 * scores[k] + scores[k + 1]
            if bend < 0:
                shift += 0.5 * (scores[k - 1] - scores[k + 1]) / bend
        shifts.append(shift)
    if not shifts:
        return 0.0, 0.0
    shifts = np.asarray(shifts)
    median = float(np.median(shifts))
    agreement = float(np.mean(np.sign(shifts) == np.sign(median))) if median != 0 else 0.0
    return median, agreement


def _phases(features: np.ndarray, segments: np.ndarray, period: float) -> np.ndarray:
    """(N,) phase in [0, 1): the longest segment counts frames from its start; every other
    segment gets the circular mean offset of its frames' nearest poses in the longest one."""
    bounds = np.flatnonzero(np.diff(segments) != 0) + 1
    starts, stops = np.r_[0, bounds], np.r_[bounds, len(segments)]
    ref = int(np.argmax(stops - starts))
    r0, r1 = int(starts[ref]), int(stops[ref])
    reference = features[r0:r1]
    ref_phase = (np.arange(r1 - r0) / period) % 1.0
    phases = np.empty(len(segments), np.float32)
    for start, stop in zip(starts, stops):
        own = (np.arange(stop - start) / period) % 1.0
        if start == r0:
            phases[start:stop] = own
            continue
        seg = features[start:stop]
        d = ((seg ** 2).sum(1)[:, None] + (reference ** 2).sum(1)[None, :] - 2 * seg @ reference.T)  # (L, R)
        nearest = ref_phase[np.argmin(d, axis=1)]
        angle = 2 * np.pi * (nearest - own)
        offset = float(np.arctan2(np.sin(angle).mean(), np.cos(angle).mean()) / (2 * np.pi))
        phases[start:stop] = (own + offset) % 1.0
    return phases


def _continuations(features, segments, phases, period, min_cycle: int) -> np.ndarray:
    """(N,) next frame while walking (see the module doc)."""
    n = len(segments)
    nxt = np.arange(1, n + 1, dtype=np.int32)
    bounds = np.flatnonzero(np.diff(segments) != 0) + 1
    starts, stops = np.r_[0, bounds], np.r_[bounds, n]
    seg_start = np.repeat(starts, stops - starts)
    seg_stop = np.repeat(stops, stops - starts)
    ahead = seg_stop - np.arange(n)  # frames of run from j to its segment's end, j included
    has_before = np.arange(n) > seg_start  # j - 1 is in j's segment
    x = np.asarray(features, np.float32)
    norms = (x ** 2).sum(1)
    scale = float(np.sqrt(np.median(np.mean((x[1:] - x[:-1]) ** 2, axis=1)))) or 1.0
    need = min(min_cycle, int(ahead.max()))
    for i in stops - 1:  # segment ends
        j = np.flatnonzero(has_before & (ahead >= need))
        same = seg_start[j] == seg_start[i]
        j = j[~same | (j <= i + 1 - min_cycle)]  # back in its own segment: a cycle of >= min_cycle
        if j.size == 0:
            j = np.flatnonzero(has_before)
        if j.size == 0:
            nxt[i] = seg_start[i]
            continue
        pose = np.sqrt(np.maximum(norms[i] + norms[j - 1] - 2 * x[j - 1] @ x[i], 0) / x.shape[1]) / scale
        want = (phases[i] + 1.0 / period) % 1.0
        off = np.abs((phases[j] - want + 0.5) % 1.0 - 0.5) * period  # frames off the wanted phase
        nxt[i] = int(j[np.argmin(pose + off)])
    return nxt


def _segment_bounds(segments):
    bounds = np.flatnonzero(np.diff(segments) != 0) + 1
    return np.r_[0, bounds], np.r_[bounds, len(segments)]


def _travel_per_period(positions: np.ndarray, segments: np.ndarray, period: float) -> float | None:
    """Median |positions[i + P] - positions[i]| within a segment (px), None where no segment
    holds a whole period."""
    lag = max(1, int(round(period)))
    steps = []
    for start, stop in zip(*_segment_bounds(segments)):
        p = positions[start:stop]
        if len(p) > lag:
            steps.append(np.hypot(*(p[lag:] - p[:-lag]).T))
    return float(np.median(np.concatenate(steps))) if steps else None


def _wobble(positions: np.ndarray, segments: np.ndarray, period: float) -> np.ndarray:
    """(N, 2) positions minus their moving mean over one period (edge-padded per segment)."""
    lag = max(1, int(round(period)))
    out = np.zeros(positions.shape, np.float32)
    for start, stop in zip(*_segment_bounds(segments)):
        p = positions[start:stop]
        half = lag // 2
        padded = np.pad(p, ((half, lag - 1 - half), (0, 0)), mode="edge")
        kernel = np.ones(lag) / lag
        mean = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], axis=1)
        out[start:stop] = p - mean
    return out


def analyze_gait(sprite, *, features: np.ndarray | None = None, config: GaitConfig = GaitConfig()) -> Gait:
    """Is the SpriteClip's subject moving in place, and how does it walk? See the module doc.

    features: (N, d) pose features (`precompute.control.sprite_features`); made here if None."""
    n = sprite.n_frames
    succ = np.asarray(sprite.has_successor)
    segments = np.asarray(sprite.segments)
    alphas, factor = _alphas(sprite, config.matte_side)  # (N, s, s) uint8; px measures below / factor
    body = body_motion(alphas, succ) / factor
    body_speed = float(np.median(body)) if body.size else 0.0
    speed = np.hypot(sprite.velocities[:, 0], sprite.velocities[:, 1])
    centroid_speed = float(np.median(speed))
    per_frame_in_place = bool(body_speed > 0 and centroid_speed < config.in_place_ratio * body_speed)
    rows = (alphas > 127).any(axis=2)
    heights = np.array([np.ptp(np.flatnonzero(r)) + 1 if r.any() else 0 for r in rows])
    height = float(np.median(heights[heights > 0])) / factor if (heights > 0).any() else 0.0
    if features is None:
        from precompute.control import sprite_features

        features = sprite_features(sprite, feature_width=config.feature_width) if hasattr(sprite, "frame") \
            else sprite_features(sprite.rgba, feature_width=config.feature_width)
    features = np.asarray(features, np.float32)
    period, _ = gait_period(features, segments, config=config)
    positions = np.asarray(sprite.positions, np.float64)
    travel = None if period is None else _travel_per_period(positions, segments, period)
    if travel is not None:  # the centroid's sway over a stride cancels: its net travel is what counts
        in_place = bool(body_speed > 0 and travel < config.in_place_ratio * body_speed * period)
        centroid_speed = travel / period
    else:
        in_place = per_frame_in_place
    wobble = np.zeros((n, 2), np.float32)
    if in_place and period is not None:
        wobble = _wobble(positions, segments, period)
    phases = ground = None
    from_feet = False
    facing = 1
    continuations = np.minimum(np.arange(1, n + 1), n - 1).astype(np.int32)
    if period is not None:
        phases = _phases(features, segments, period)
        continuations = _continuations(features, segments, phases, period, config.min_cycle_frames)
        shift, agreement = foot_speed(alphas, succ, band_share=config.foot_band_share)
        shift /= factor
        if abs(shift) >= 0.05 and agreement >= 0.6:
            ground, from_feet, facing = abs(shift), True, (1 if shift < 0 else -1)  # the foot moves back
        else:
            ground = config.stride_share * height / period
    return Gait(in_place, centroid_speed, body_speed, period, phases, ground, from_feet, facing, height,
                continuations, wobble, config)


def describe_gait(gait: Gait, fps: float) -> str:
    """One line for `framechain info SPRITE` and `framechain steer`."""
    ratio = gait.centroid_speed / gait.body_speed if gait.body_speed > 0 else float("inf")
    if not gait.in_place:
        return (f"moves on its own: centroid {gait.centroid_speed * fps:.0f} px/s of the footage against the body's "
                f"{gait.body_speed * fps:.0f} px/s (steered by its footage's velocities)")
    if gait.period_frames is None:
        return (f"in place (centroid {ratio:.2f}x the body's own motion) but no repeating pose: "
                "steered by its footage's velocities")
    how = "the stance foot's speed" if gait.ground_from_feet else f"{gait.config.stride_share:g} x its height per period"
    side = "right" if gait.facing > 0 else "left"
    return (f"in place: a gait of {gait.period_frames:.1f} frames ({gait.period_frames / fps:.2f} s), "
            f"facing {side}; walks at {gait.ground_speed * fps:.0f} px/s of the footage ({how}; "
            f"--ground-speed to change)")

"""Jumps rendered as crossfades: a path of source frames -> per-output-frame blends.

A *jump* is any step of the path where the next source frame is not the current one + 1. The
path splits at its jumps into *segments*; each segment is a stream of consecutive source frames
that can be extended past its ends (the frames the clip would have shown had there been no jump:
`first + (s - start)` at output position s). A jump between output positions t and t+1 sits at
time b = t + 0.5; the stream that starts there fades in with the ramp

    R(s - b) = clip((s - b) / K + 1/2, 0, 1)          K = fade_frames

which is 1/2 at the jump, so the fade is centred on it. The weight of segment k at position s
is `R(s - b_k) - R(s - b_{k+1})`: the weights sum to 1 exactly (the ramps telescope), are never
negative (the boundaries are ordered), and when two jumps are closer than K the fades overlap
into a multi-way blend of three or more streams. An isolated jump with K = 4 gives the output
frames t-1, t, t+1, t+2 the weights 1/8, 3/8, 5/8, 7/8 for the new stream. K <= 1 is a cut.

Used by the player (one position at a time, `blend_at`) and by the loop exporter
(`blend_schedule(..., cyclic=True)`, where the wrap from the last frame to the first is a jump
like any other). Both give the same weights for the same path.
"""
from __future__ import annotations

import math

import numpy as np

from precompute.errors import ConfigError

__all__ = ["blend_schedule", "blend_at", "merge_blends", "fade_reach", "Blend"]

# One output frame: (source_frame_index, weight) pairs, weights > 0 summing to 1, ordered from
# the oldest stream to the newest.
Blend = list[tuple[int, float]]


def fade_reach(fade_frames: int) -> int:
    """How many path positions before and after an output position can affect its blend."""
    return max(0, math.ceil(fade_frames / 2))


def _ramp(x: float, fade_frames: int) -> float:
    if fade_frames <= 1:
        return 1.0 if x > 0 else 0.0
    return min(1.0, max(0.0, x / fade_frames + 0.5))


def blend_at(path: np.ndarray, position: int, *, fade_frames: int = 4, n_frames: int,
             cyclic_clip: bool = False, cuts=None) -> Blend:
    """The blend shown at output `position` of `path`.

    path         (L,) int source frame indices; must cover `position - fade_reach(K)` to
                 `position + fade_reach(K)` where those exist (positions outside 0..L-1 are
                 treated as continuing the first/last segment, no jump)
    position     int index into `path`
    n_frames     frames in the clip: extended streams are clamped to 0..n_frames-1
    cyclic_clip  the clip is one whole cycle (its analysis says `cyclic`): the step from its last
                 frame to its first is its natural step, shown as it is, not faded, and streams
                 run on over the seam
    Returns a Blend (see module docstring).
    """
    path = np.asarray(path)
    length = path.shape[0]
    reach = fade_reach(fade_frames)
    lo = max(0, position - reach)
    hi = min(length - 1, position + reach)
    # jumps whose boundary b = t + 0.5 lies within reach of the position: t in [lo-1, hi]
    # (t = lo - 1 only matters when it exists in the path)
    t_first = max(0, lo - 1)
    step = (lambda frame: (frame + 1) % n_frames) if cyclic_clip else (lambda frame: frame + 1)
    jumps = [t for t in range(t_first, hi) if path[t + 1] != step(path[t])]
    # segment containing each boundary's left side; we need the segments touching the window:
    # the one containing `lo`'s left neighbour context up to the one containing `hi`.
    # segment starts (positions) around the window:
    starts = [None] + [t + 1 for t in jumps]  # None: the segment begins before the window
    boundaries = [-math.inf] + [t + 0.5 for t in jumps] + [math.inf]
    fades = [fade_frames] + [0 if cuts is not None and cuts(int(path[t]), int(path[t + 1])) else fade_frames
                             for t in jumps] + [fade_frames]
    blend: dict[int, float] = {}
    order: list[int] = []
    for k, start in enumerate(starts):
        weight = (_ramp(position - boundaries[k], fades[k])
                  - _ramp(position - boundaries[k + 1], fades[k + 1]))
        if weight <= 0.0:
            continue
        if start is None:
            # the segment in force at t_first: anchor on its frame at t_first (or at jumps[0])
            anchor = t_first
        else:
            anchor = start
        frame = int(path[anchor]) + (position - anchor)
        frame = frame % n_frames if cyclic_clip else min(n_frames - 1, max(0, frame))
        if frame not in blend:
            order.append(frame)
            blend[frame] = 0.0
        blend[frame] += weight
    total = sum(blend.values())
    return [(frame, blend[frame] / total) for frame in order]


def blend_schedule(source_path, *, fade_frames: int = 4, cyclic: bool = False,
                   n_frames: int | None = None) -> list[Blend]:
    """Per-output-frame blends for a whole path of source frames.

    source_path  (L,) int source frame indices, 0-based; a jump is any step where
                 next != current + 1
    fade_frames  K: the crossfade spans K frame intervals centred on each jump (K output frames
                 blend when K is even, K-1 when odd; K <= 1 is a plain cut)
    cyclic       True for a loop: the path repeats, so the step from the last frame back to the
                 first is a jump too (unless it happens to be +1), and fades wrap around
    n_frames     frames in the clip; extended streams are clamped to 0..n_frames-1
                 (default max(source_path) + 1, which never indexes beyond the clip)
    Returns a list of L Blends: `[[(source_index, weight), ...], ...]`, weights > 0 summing to 1,
    oldest stream first.
    """
    path = np.asarray(source_path)
    if path.ndim != 1 or path.size == 0 or not np.issubdtype(path.dtype, np.integer):
        raise ConfigError(f"source_path must be a non-empty 1-D integer array, got {path.shape} {path.dtype}")
    if path.min() < 0:
        raise ConfigError(f"source_path must hold 0-based frame indices, got {path.min()}")
    fade_frames = int(fade_frames)
    if fade_frames < 0:
        raise ConfigError(f"fade_frames must be >= 0, got {fade_frames}")
    if n_frames is None:
        n_frames = int(path.max()) + 1
    elif path.max() >= n_frames:
        raise ConfigError(f"source_path holds frame {path.max()} but the clip has {n_frames} frames")
    path = path.astype(np.int64)
    length = path.shape[0]
    if not cyclic:
        return [blend_at(path, s, fade_frames=fade_frames, n_frames=n_frames) for s in range(length)]
    # A loop: tile enough copies that every position of the middle copy sees its full reach.
    reach = fade_reach(fade_frames) + 1
    copies = 2 * math.ceil(reach / length) + 1
    middle = (copies // 2) * length
    tiled = np.tile(path, copies)  # (copies * L,)
    return [blend_at(tiled, middle + s, fade_frames=fade_frames, n_frames=n_frames)
            for s in range(length)]


def merge_blends(first: Blend, second: Blend, fraction: float) -> Blend:
    """`(1 - fraction) * first + fraction * second` as one Blend (for slow motion between two
    output positions); pairs with the same source frame are summed."""
    if fraction <= 0.0:
        return first
    if fraction >= 1.0:
        return second
    merged: dict[int, float] = {}
    for frame, weight in first:
        merged[frame] = merged.get(frame, 0.0) + (1.0 - fraction) * weight
    for frame, weight in second:
        merged[frame] = merged.get(frame, 0.0) + fraction * weight
    return list(merged.items())

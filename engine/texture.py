"""The immutable clip data that playback reads: frames, links and their costs, frame rate.

A `VideoTexture` holds no playback state, so any number of `Playback` instances (players,
sprites) may share one. Its arrays are read-only views: the caller's arrays are never modified.

Links are stored in CSR form (see docs/ARCHITECTURE.md): the links of frame i are
`link_targets[link_offsets[i]:link_offsets[i + 1]]`, and the natural step i -> i+1 is a link
like any other. Probabilities are not stored here: they are computed from the future costs for
the variety (sigma) and frame range in force, by `link_probabilities`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from precompute.errors import AnalysisError, ConfigError

__all__ = ["VideoTexture", "range_distance"]


def _read_only(array: np.ndarray, dtype) -> np.ndarray:
    """A read-only view (a copy only when the dtype must change); the input stays writable."""
    view = np.asarray(array)
    if view.dtype != np.dtype(dtype):
        view = view.astype(dtype)
    else:
        view = view.view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False)
class VideoTexture:
    """Frames and links of one clip.

    frames             (T, H, W, 3) uint8 RGB, an array, a read-only memmap (not copied) or a
                       proxy store (precompute.frame_store.ProxyFrames, read by index)
    link_offsets       (T+1,) int64 CSR row pointers
    link_targets       (nnz,) int32 destination frame of each link
    link_future_costs  (nnz,) float32 F[i, j], what probabilities use (RMS units)
    link_visual_costs  (nnz,) float32 C[i, j] = D1[i+1, j] (RMS units; 0 for the natural step)
    fps                frames per second of the clip
    sigma              absolute sigma (RMS units) that variety 1.0 stands for
    source             path of the clip, written into play logs
    playable           (T,) bool, the frames play stays among (the analysis' closed class; frames
                       outside it are only a lead-in); None: all
    cyclic             the clip is one whole cycle: its last frame steps to its first naturally
    """

    frames: np.ndarray
    link_offsets: np.ndarray
    link_targets: np.ndarray
    link_future_costs: np.ndarray
    link_visual_costs: np.ndarray
    fps: float
    sigma: float
    source: str = ""
    playable: np.ndarray | None = None
    cyclic: bool = False
    # source frame of each link, (nnz,) int32; derived, for vectorised per-row work
    link_sources: np.ndarray = field(init=False, repr=False)
    # reverse CSR (who links to frame j), derived, for the frame-range distance
    _reverse_offsets: np.ndarray = field(init=False, repr=False)
    _reverse_sources: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        frames = self.frames
        from precompute.frame_store import is_frame_store

        store = is_frame_store(frames)  # the proxy store: read by index like an array
        if not ((isinstance(frames, np.ndarray) or store) and frames.ndim == 4
                and frames.shape[3] == 3 and frames.dtype == np.uint8):
            shape = getattr(frames, "shape", None)
            dtype = getattr(frames, "dtype", type(frames).__name__)
            raise AnalysisError(
                f"frames must be a (T, H, W, 3) uint8 array, got {shape} {dtype}; "
                "decode the clip with precompute.video_io or load an analysis")
        n_frames = frames.shape[0]
        if n_frames < 2:
            raise AnalysisError(f"frames must hold at least 2 frames, got {n_frames}")
        if not store and not frames.flags.c_contiguous:
            raise AnalysisError("frames must be C-contiguous (T, H, W, 3); pass np.ascontiguousarray(frames)")
        offsets = _read_only(self.link_offsets, np.int64)
        targets = _read_only(self.link_targets, np.int32)
        future = _read_only(self.link_future_costs, np.float32)
        visual = (np.zeros_like(future) if self.link_visual_costs is None
                  else _read_only(self.link_visual_costs, np.float32))
        if offsets.shape != (n_frames + 1,):
            raise AnalysisError(
                f"link_offsets must be (T+1,) = ({n_frames + 1},) for {n_frames} frames, got {offsets.shape}")
        nnz = int(offsets[-1])
        if offsets[0] != 0 or np.any(np.diff(offsets) < 1):
            raise AnalysisError(
                "link_offsets must start at 0 and give every frame at least one link "
                "(otherwise play could stop); re-run the analysis")
        for name, array in (("link_targets", targets), ("link_future_costs", future),
                            ("link_visual_costs", visual)):
            if array.shape != (nnz,):
                raise AnalysisError(f"{name} must be ({nnz},) to match link_offsets, got {array.shape}")
        if targets.min() < 0 or targets.max() >= n_frames:
            raise AnalysisError(
                f"link_targets must lie in [0, {n_frames - 1}], got [{targets.min()}, {targets.max()}]")
        if not np.all(np.isfinite(future)):
            raise AnalysisError("link_future_costs must be finite; re-run the analysis")
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise AnalysisError(f"fps must be a positive number, got {self.fps}")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise AnalysisError(f"sigma must be a positive number, got {self.sigma}")
        frames_view = frames  # a memmap (the analysis store) is shared as it is
        if not store and frames.flags.writeable and not isinstance(frames, np.memmap):
            frames_view = frames.view()  # read-only view; the caller's array stays writable
            frames_view.flags.writeable = False
        sources = np.repeat(np.arange(n_frames, dtype=np.int32), np.diff(offsets))  # (nnz,)
        sources.flags.writeable = False
        order = np.argsort(targets, kind="stable")
        reverse_sources = sources[order]  # (nnz,) sources grouped by target
        reverse_offsets = np.zeros(n_frames + 1, np.int64)
        np.cumsum(np.bincount(targets, minlength=n_frames), out=reverse_offsets[1:])
        set_ = object.__setattr__
        set_(self, "frames", frames_view)
        set_(self, "link_offsets", offsets)
        set_(self, "link_targets", targets)
        set_(self, "link_future_costs", future)
        set_(self, "link_visual_costs", visual)
        set_(self, "fps", float(self.fps))
        set_(self, "sigma", float(self.sigma))
        if self.playable is None:
            playable = np.ones(n_frames, np.bool_)
        else:
            playable = np.asarray(self.playable, np.bool_)
            if playable.shape != (n_frames,) or not playable.any():
                raise AnalysisError(f"playable must be ({n_frames},) bool with a frame set, "
                                    f"got {playable.shape}")
        playable = playable.copy()
        playable.flags.writeable = False
        set_(self, "playable", playable)
        set_(self, "link_sources", sources)
        set_(self, "_reverse_offsets", reverse_offsets)
        set_(self, "_reverse_sources", reverse_sources)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_arrays(cls, frames, *, link_offsets, link_targets, link_future_costs,
                    link_visual_costs=None, fps: float, sigma: float | None = None,
                    source: str = "", playable=None, cyclic: bool = False) -> "VideoTexture":
        """Build from arrays. `sigma=None` takes 0.1 x the mean non-zero excess future cost
        `F - min_row F` (the analysis' own rule of thumb, docs/video-textures.md section 3)."""
        if sigma is None:
            offsets = np.asarray(link_offsets, np.int64)
            future = np.asarray(link_future_costs, np.float64)
            if len(offsets) < 2 or offsets[-1] != len(future) or np.any(np.diff(offsets) < 1):
                raise AnalysisError("link_offsets must give every frame at least one link")
            excess = future - np.repeat(np.minimum.reduceat(future, offsets[:-1]), np.diff(offsets))
            positive = excess[excess > 0]
            sigma = 0.1 * float(positive.mean()) if positive.size else 1.0
        return cls(frames=frames, link_offsets=link_offsets, link_targets=link_targets,
                   link_future_costs=link_future_costs, link_visual_costs=link_visual_costs,
                   fps=fps, sigma=sigma, source=source, playable=playable, cyclic=bool(cyclic))

    @classmethod
    def from_analysis(cls, analysis) -> "VideoTexture":
        """Build from a `precompute.Analysis` (shares its memory-mapped frame store)."""
        stats = getattr(analysis, "stats", {}) or {}
        sigma = stats.get("sigma")
        source = getattr(analysis, "source", "")
        if isinstance(source, dict):
            source = source.get("path", "")
        return cls.from_arrays(
            analysis.frames, link_offsets=analysis.link_offsets, link_targets=analysis.link_targets,
            link_future_costs=analysis.link_future_costs,
            link_visual_costs=analysis.link_visual_costs, fps=analysis.fps,
            sigma=None if sigma is None else float(sigma), source=str(source),
            playable=getattr(analysis, "arrays", {}).get("playable"),
            cyclic=bool(stats.get("cyclic", False)))

    # ------------------------------------------------------------------ properties
    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    @property
    def n_links(self) -> int:
        return int(self.link_targets.shape[0])

    @property
    def first_playable(self) -> int:
        """The first frame of the closed class play stays in (where play starts by default)."""
        return int(np.argmax(self.playable))

    @property
    def link_is_jump(self) -> np.ndarray:
        """(nnz,) bool: True where a link is not the natural step i -> i+1."""
        return self.link_targets != self.link_sources + 1

    # ------------------------------------------------------------------ probabilities
    def link_probabilities(self, *, variety: float = 1.0, frame_range: tuple[int, int] | None = None,
                           range_weight: float = 8.0) -> np.ndarray:
        """Probabilities of the links, (nnz,) float64, each row summing to 1.

        `p = exp(-(F - min_row F) / sigma)` renormalised per row, with `sigma = variety * self.sigma`
        (variety 1.0 reproduces the analysis' probabilities before pruning thresholds).

        `frame_range=(start, stop)` (frames start..stop-1) adds the paper's Eq. 10 term
        `range_weight * dist(j, S)` to the exponent, where dist(j, S) is the number of frames
        played outside S before S is reached from j along links (0 inside S; see
        `range_distance`). So play is drawn to the range through its good jumps and, once
        there, leaves it only with odds of about exp(-range_weight) per chance to leave.
        """
        if not (np.isfinite(variety) and variety > 0):
            raise ConfigError(f"variety must be a positive number, got {variety}")
        offsets = self.link_offsets
        counts = np.diff(offsets)
        future = self.link_future_costs.astype(np.float64)
        row_min = np.repeat(np.minimum.reduceat(future, offsets[:-1]), counts)  # (nnz,)
        score = (future - row_min) / (variety * self.sigma)  # (nnz,) >= 0
        if frame_range is not None:
            distance = self.range_distance(frame_range)  # (T,)
            score += range_weight * distance[self.link_targets]
            score -= np.repeat(np.minimum.reduceat(score, offsets[:-1]), counts)
        weights = np.exp(-score)  # (nnz,), the best link of each row has weight 1
        return weights / np.repeat(np.add.reduceat(weights, offsets[:-1]), counts)

    def range_distance(self, frame_range: tuple[int, int]) -> np.ndarray:
        """(T,) float64: frames to play outside `frame_range` = (start, stop) before entering it,
        along the cheapest-in-frames path of links (0 inside; a large finite value where the range
        cannot be reached)."""
        start, stop = _check_range(frame_range, self.n_frames)
        return range_distance(self._reverse_offsets, self._reverse_sources, start, stop)


def _check_range(frame_range, n_frames: int) -> tuple[int, int]:
    try:
        start, stop = (int(v) for v in frame_range)
    except (TypeError, ValueError):
        raise ConfigError(f"frame_range must be (start, stop) frame numbers, got {frame_range!r}") from None
    if not 0 <= start < stop <= n_frames:
        raise ConfigError(f"frame_range must satisfy 0 <= start < stop <= {n_frames}, got {frame_range!r}")
    return start, stop


def range_distance(reverse_offsets: np.ndarray, reverse_sources: np.ndarray, start: int,
                   stop: int) -> np.ndarray:
    """Breadth-first distance, in frames, from every frame into [start, stop) along links.

    reverse_offsets (T+1,) int64 and reverse_sources (nnz,) int32 list, for each frame j, the
    frames i that link to j. Returns (T,) float64; unreachable frames get T (finite, so that
    the exponent stays finite and play can never stop).
    """
    n_frames = reverse_offsets.shape[0] - 1
    if not (0 <= start < stop <= n_frames):
        raise ConfigError(f"range must satisfy 0 <= start < stop <= {n_frames}, got ({start}, {stop})")
    return _range_distance(reverse_offsets, reverse_sources, start, stop)


@njit(cache=True)
def _range_distance(reverse_offsets, reverse_sources, start, stop):
    n_frames = reverse_offsets.shape[0] - 1
    distance = np.full(n_frames, -1, np.int64)
    queue = np.empty(n_frames, np.int64)
    head = 0
    tail = 0
    for j in range(start, stop):
        distance[j] = 0
        queue[tail] = j
        tail += 1
    while head < tail:
        j = queue[head]
        head += 1
        for k in range(reverse_offsets[j], reverse_offsets[j + 1]):
            i = reverse_sources[k]
            if distance[i] < 0:
                distance[i] = distance[j] + 1
                queue[tail] = i
                tail += 1
    out = np.empty(n_frames, np.float64)
    for i in range(n_frames):
        out[i] = distance[i] if distance[i] >= 0 else n_frames
    return out

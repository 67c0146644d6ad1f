"""Hyperlapse by optimal frame selection (issue 17; Joshi, Kienzle, Toelle, Uyttendaele & Cohen,
"Real-time hyperlapse creation via optimal frame selection", SIGGRAPH 2015).

A long hand-held walk becomes a smooth fast-forward by choosing which frames to keep, not by
taking every v-th one. Three costs, all in pixels of the frame scaled to a 1280x720 diagonal
(`reference_diagonal_px`, the paper's working size, so its constants hold at any input size):

- matching C_m(i, j): how well frame j follows frame i. Sparse corners of frame i are tracked
  into frame j (pyramidal Lucas-Kanade at `match_width`, started from the chained frame-to-frame
  homographies) and a homography is fitted (RANSAC). C_r is the mean reprojection error of the
  corners (the paper's alignment cost); C_o is how far the image centre moves from i to j
  *beyond the camera's smooth path* (the paper measures it against a still camera; against the
  smoothed path, a camera that pans or looks down while walking is not charged for its intended
  motion, only for its shake). C_m = C_r + C_o where C_o < tau_c (the paper keeps C_r alone there;
  C_o breaks ties towards calmer frames), else gamma: a frame thrown out of overlap, or one that
  does not match at all, costs as much as a poor match can. Computed for the w frames ahead of
  each frame only, and of those for the steps within max(3, v/2) of v (`match_band`: a step
  further off is never worth its velocity cost; it costs gamma), streaming (w + 1 small frames
  are held).
- velocity C_s(i, j) = min(((j - i) - v)^2, tau_s): the speed-up v.
- acceleration C_a(h, i, j) = min(((j - i) - (i - h))^2, tau_a): no sudden change of pace.

The path minimises sum C_m + lambda_s C_s + lambda_a C_a, starting in the first g frames and
ending in the last g, by dynamic programming over (frame, step) states (`_select_kernel`,
numba, O(T w^2)). `naive_frames` is every v-th frame, the baseline.

`stabilizing_warps` then smooths the camera motion left on the chosen path: the chosen pairs'
homographies, as similarities, are accumulated into a camera path, smoothed (Gaussian), and each
frame is warped by the difference, with a crop that hides the borders.

Everything here is array-in, array-out except `match_frames`, which takes an iterable of frames
(the caller decodes: precompute.video_io.open_clip).
"""
from __future__ import annotations

import math
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numba
import numpy as np

from precompute.errors import ClipError, ConfigError

__all__ = ["HyperlapseConfig", "FrameMatches", "Selection", "match_frames", "matching_costs",
           "select_frames", "naive_frames", "path_cost", "estimated_jitter_px",
           "stabilizing_warps", "jitter_px", "smooth_path"]


@dataclass(frozen=True, kw_only=True)
class HyperlapseConfig:
    """Frame selection and stabilisation settings. The first six are the paper's constants."""

    window_frames: int = 32  # w: the longest step, frames; matching cost grows with it (T x w
    #   pairs). Allows speed-ups up to about w / 2 with room to dodge bad frames.
    lambda_velocity: float = 200.0  # lambda_s: weight of the speed-up cost; larger holds the
    #   pace tighter, smaller lets the path dodge poorer matches
    lambda_acceleration: float = 80.0  # lambda_a: weight of the change of step; larger is steadier
    tau_velocity: float = 200.0  # tau_s: the velocity cost's cap, frames^2 (one very bad match
    #   may always be escaped by any step)
    tau_acceleration: float = 200.0  # tau_a: the acceleration cost's cap, frames^2
    end_frames: int = 4  # g: the path starts within the first g frames and ends in the last g
    reference_diagonal_px: float = 1468.6  # costs are in pixels of the frame scaled to this
    #   diagonal (1280x720), the paper's size, so lambda and tau mean the same at any input size
    overlap_limit: float = 0.1  # tau_c, a share of the diagonal: a centre moved further off the
    #   smooth path than this is a mismatch (gamma); lower skips milder shake
    mismatch_cost: float = 0.5  # gamma, a share of the diagonal: the cost of a pair that fails
    #   to match or overlap (the paper's 0.5 d)
    match_width: int = 128  # px: frames are matched as grey images this wide (never upscaled);
    #   wider is more precise and slower
    max_corners: int = 48  # corners tracked per frame; more is steadier, slower
    corner_spacing_px: int = 5  # least distance between corners at match_width
    tracker_window_px: int = 15  # Lucas-Kanade window side at match_width, frame to frame
    tracker_levels: int = 3  # pyramid levels there: the reach of the frame-to-frame tracking
    refine_window_px: int = 9  # window side for the pairs i -> j, which start from the chained
    #   frame-to-frame homographies and only refine them (the costliest step: time ~ side^2)
    refine_levels: int = 1  # pyramid levels there: reach of the refinement (+-4 px x 2^levels)
    ransac_threshold_px: float = 2.0  # RANSAC inlier distance at match_width
    reprojection_clip_px: float = 4.0  # one corner's error counts at most this (match px): a few
    #   lost corners do not make a good pair look bad
    min_matched_corners: int = 8  # fewer tracked corners: the pair does not match (gamma)
    path_window_frames: int = 31  # the smooth path is a running median of the chained motion
    #   over this many frames (then a Gaussian of a sixth of it): longer than a jolt and a step
    match_band: float = 0.5  # pairs are matched only for steps k within this share of v of v
    #   (at least 3 frames either side): a step further off pays lambda_s (v/2)^2 in speed alone,
    #   more than dodging several mismatches, so the path never takes it; those pairs cost gamma.
    #   1e9 matches all w frames ahead (the paper's full window), about 3x slower at v = 8
    threads: int = 2  # worker threads for the pair matching (OpenCV releases the GIL)
    stabilize_frames: int = 25  # --stabilize: the camera path is smoothed by a local quadratic
    #   fit over this many output frames; longer is calmer but needs more crop
    stabilize_crop: float = 0.1  # --stabilize: share of each side cropped away (zoom
    #   1 / (1 - 2 crop)); corrections are held within it so no border shows

    def __post_init__(self):
        checks = [
            ("window_frames", 2 <= self.window_frames <= 256),
            ("end_frames", 1 <= self.end_frames <= 64),
            ("match_width", 16 <= self.match_width <= 1024),
            ("max_corners", 8 <= self.max_corners <= 2000),
            ("threads", 1 <= self.threads <= 64),
            ("stabilize_crop", 0 <= self.stabilize_crop < 0.4),
            ("path_window_frames", self.path_window_frames >= 1),
        ] + [(name, getattr(self, name) >= 0) for name in (
            "lambda_velocity", "lambda_acceleration", "tau_velocity", "tau_acceleration",
            "overlap_limit", "mismatch_cost", "stabilize_frames")]
        for name, ok in checks:
            if not ok:
                raise ConfigError(f"HyperlapseConfig.{name} is out of range, got {getattr(self, name)}")

    def max_speedup(self) -> float:
        return self.window_frames / 2

    def matched_steps(self, speedup: float) -> tuple[int, int]:
        """(first, last) step k that `match_frames` matches for speed-up `speedup`."""
        reach = max(3.0, self.match_band * float(speedup))
        first = max(1, int(math.ceil(speedup - reach)))
        return first, max(first, min(self.window_frames, int(math.floor(speedup + reach))))


# --- matching ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameMatches:
    """Frame i matched to frames i+1 .. i+w (k = j - i - 1 indexes the second axis).

    Coordinates are pixels of the matching size (`match_size`); pairs past the clip's end are
    unmatched."""

    n_frames: int
    frame_size: tuple  # (width, height) of the decoded frames
    match_size: tuple  # (width, height) at which they were matched
    homographies: np.ndarray = field(repr=False)  # (T, w, 3, 3) float32 frame i -> frame j
    motions: np.ndarray = field(repr=False)  # (T, w, 2) float32 where frame i's centre lands in
    #   frame j, minus the centre (px at match size)
    reprojection_px: np.ndarray = field(repr=False)  # (T, w) float32 mean clipped error, match px
    matched: np.ndarray = field(repr=False)  # (T, w) bool: enough corners tracked, a homography
    chain_motions: np.ndarray = field(repr=False)  # (T-1, 2) float32 centre motion i -> i+1

    @property
    def window_frames(self) -> int:
        return int(self.matched.shape[1])


def _grey(frame: np.ndarray, size: tuple) -> np.ndarray:
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    if (grey.shape[1], grey.shape[0]) != tuple(size):
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey


def _match_size(width: int, height: int, match_width: int) -> tuple:
    w = min(int(match_width), int(width))
    return w, max(8, int(round(height * w / width)))


class _Tracked:
    """One frame at match size: the grey image and its corners."""

    __slots__ = ("grey", "corners")

    def __init__(self, grey: np.ndarray, config: HyperlapseConfig):
        import cv2

        self.grey = grey  # (h, w) uint8
        corners = cv2.goodFeaturesToTrack(grey, config.max_corners, 0.01, config.corner_spacing_px)
        self.corners = (np.zeros((0, 1, 2), np.float32) if corners is None
                        else corners.astype(np.float32))  # (n, 1, 2)


def _fit_pair(first: _Tracked, second: _Tracked, guess: np.ndarray | None, centre: np.ndarray,
              config: HyperlapseConfig):
    """Track `first`'s corners into `second` (from `guess`, a 3x3 homography, if given) and fit
    a homography. Returns (H (3, 3) float64, centre motion (2,), mean clipped error, ok)."""
    import cv2

    points = first.corners
    if len(points) < config.min_matched_corners:
        return None, None, 0.0, False
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 20, 0.03)
    if guess is not None:
        window = (config.refine_window_px, config.refine_window_px)
        predicted = cv2.perspectiveTransform(points, guess)
        tracked, status, _ = cv2.calcOpticalFlowPyrLK(
            first.grey, second.grey, points, predicted.copy(), winSize=window,
            maxLevel=config.refine_levels, criteria=criteria, flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
    else:
        window = (config.tracker_window_px, config.tracker_window_px)
        tracked, status, _ = cv2.calcOpticalFlowPyrLK(
            first.grey, second.grey, points, None, winSize=window,
            maxLevel=config.tracker_levels, criteria=criteria)
    good = status.reshape(-1).astype(bool)
    if good.sum() < config.min_matched_corners:
        return None, None, 0.0, False
    source, target = points[good], tracked[good]  # (m, 1, 2)
    homography, _ = cv2.findHomography(source, target, cv2.RANSAC, config.ransac_threshold_px)
    if homography is None or not np.all(np.isfinite(homography)):
        return None, None, 0.0, False
    mapped = cv2.perspectiveTransform(source, homography)
    errors = np.minimum(np.hypot(*(mapped - target).reshape(-1, 2).T), config.reprojection_clip_px)
    moved = cv2.perspectiveTransform(centre.reshape(1, 1, 2), homography).reshape(2) - centre
    return homography, moved, float(errors.mean()), True


def _translation_only(first_grey: np.ndarray, second_grey: np.ndarray) -> np.ndarray:
    """Fallback for the frame-to-frame chain where tracking fails: phase correlation."""
    import cv2

    (dx, dy), _ = cv2.phaseCorrelate(first_grey.astype(np.float32), second_grey.astype(np.float32))
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], np.float64)


def match_frames(frames, *, speedup: float, config: HyperlapseConfig = HyperlapseConfig(),
                 n_frames_hint: int = 0, progress: bool = False) -> FrameMatches:
    """Match every frame to the `window_frames` frames after it (see the module doc), those of
    the steps `config.matched_steps(speedup)` only.

    frames: an iterable of (H, W, 3) uint8 RGB frames, read once, in order (a decoder).
    n_frames_hint: for the progress bar only. Memory: w + 1 small frames and T x w results."""
    from tqdm import tqdm

    w = int(config.window_frames)
    first_step, last_step = config.matched_steps(speedup)
    bar = tqdm(total=n_frames_hint or None, unit="frame", desc="hyperlapse: matching",
               disable=not progress, leave=False)
    window: dict[int, _Tracked] = {}  # the frames a source still in flight needs
    chain: list[np.ndarray] = []  # (3, 3) homography frame t -> t+1
    rows: dict[int, tuple] = {}
    jobs: deque = deque()  # (source, future or row), in source order
    size = frame_size = centre = previous_grey = None
    pool = ThreadPoolExecutor(max_workers=config.threads) if config.threads > 1 else None

    def source_row(i: int, last: int):
        """Frame i matched to i+1 .. min(i+w, last): (H (w,3,3), motion (w,2), error (w,), ok (w,))."""
        hs = np.zeros((w, 3, 3), np.float32)
        motion = np.zeros((w, 2), np.float32)
        error = np.zeros(w, np.float32)
        ok = np.zeros(w, bool)
        guess = np.eye(3)
        for k in range(1, min(last_step, last - i) + 1):
            guess = chain[i + k - 1] @ guess  # the chained estimate starts the tracking
            if k < first_step:
                continue
            h, moved, err, good = _fit_pair(window[i], window[i + k], guess, centre, config)
            if good:
                hs[k - 1], motion[k - 1], error[k - 1], ok[k - 1] = h, moved, err, True
        return hs, motion, error, ok

    def submit(i: int, last: int) -> None:
        jobs.append((i, pool.submit(source_row, i, last) if pool else source_row(i, last)))

    def collect(*, everything: bool) -> None:
        while jobs and (everything or pool is None or jobs[0][1].done()
                        or len(jobs) > 4 * config.threads):
            i, job = jobs.popleft()
            rows[i] = job.result() if pool else job

    count = next_source = 0
    try:
        for frame in frames:
            frame = np.asarray(frame)
            if size is None:
                frame_size = (int(frame.shape[1]), int(frame.shape[0]))
                size = _match_size(*frame_size, config.match_width)
                centre = np.array([size[0] / 2, size[1] / 2], np.float64)
            grey = _grey(frame, size)
            window[count] = _Tracked(grey, config)
            if count > 0:
                h, _, _, good = _fit_pair(window[count - 1], window[count], None, centre, config)
                chain.append(h if good else _translation_only(previous_grey, grey))
            previous_grey = grey
            count += 1
            while next_source + last_step <= count - 1:  # its whole window has arrived
                submit(next_source, count - 1)
                next_source += 1
            collect(everything=False)
            oldest = jobs[0][0] if jobs else next_source
            for old in [k for k in window if k < oldest]:
                del window[old]
            bar.update(1)
        if count < 2:
            raise ClipError("the clip has fewer than 2 frames; a hyperlapse needs a longer clip")
        for i in range(next_source, count):  # the last sources: windows cut at the clip's end
            submit(i, count - 1)
        collect(everything=True)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
    order = [rows[i] for i in range(count)]
    homographies = np.stack([r[0] for r in order])  # (T, w, 3, 3)
    motions = np.stack([r[1] for r in order])  # (T, w, 2)
    errors = np.stack([r[2] for r in order])  # (T, w)
    matched = np.stack([r[3] for r in order])  # (T, w)
    chain_motions = np.array([_centre_motion(h, centre) for h in chain], np.float32).reshape(-1, 2)
    return FrameMatches(count, frame_size, size, homographies, motions, errors, matched,
                        chain_motions)


def _centre_motion(homography: np.ndarray, centre: np.ndarray) -> np.ndarray:
    p = homography @ np.array([centre[0], centre[1], 1.0])
    return p[:2] / p[2] - centre


def smooth_path(chain_motions: np.ndarray, window_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(T-1, 2) frame-to-frame centre motions -> (positions, smoothed) (T, 2) each: the centre's
    chained position and the camera's smooth path (running median over `window_frames`, robust
    to jolts, then a Gaussian of a sixth of the window)."""
    from scipy.ndimage import gaussian_filter1d, median_filter

    positions = np.concatenate([np.zeros((1, 2)), np.cumsum(chain_motions, axis=0, dtype=np.float64)])
    size = max(1, int(window_frames) | 1)
    smoothed = median_filter(positions, size=(size, 1), mode="nearest")
    if size >= 6:
        smoothed = gaussian_filter1d(smoothed, size / 6, axis=0, mode="nearest")
    return positions, smoothed


def matching_costs(matches: FrameMatches, config: HyperlapseConfig = HyperlapseConfig()) -> np.ndarray:
    """C_m(i, i+k+1) as (T, w) float32 in reference pixels; +inf past the clip's end."""
    T, w = matches.matched.shape
    scale = config.reference_diagonal_px / math.hypot(*matches.match_size)  # match px -> reference px
    _, smoothed = smooth_path(matches.chain_motions, config.path_window_frames)
    steps = np.arange(1, w + 1)
    targets = np.arange(T)[:, None] + steps[None, :]  # (T, w)
    inside = targets < T
    expected = smoothed[np.minimum(targets, T - 1)] - smoothed[:, None, :]  # (T, w, 2)
    off_path = np.hypot(*(matches.motions - expected).transpose(2, 0, 1)) * scale  # (T, w) C_o
    alignment = matches.reprojection_px * scale  # C_r
    gamma = config.mismatch_cost * config.reference_diagonal_px
    limit = config.overlap_limit * config.reference_diagonal_px
    costs = np.where(matches.matched & (off_path < limit), alignment + off_path, gamma)
    return np.where(inside, costs, np.inf).astype(np.float32)


# --- selection -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Selection:
    """The chosen frames and the cost of the path."""

    frames: np.ndarray  # (n,) int32 strictly increasing source frame indices
    cost: float  # sum of C_m + lambda_s C_s + lambda_a C_a along the path

    @property
    def mean_step(self) -> float:
        return float((self.frames[-1] - self.frames[0]) / max(1, len(self.frames) - 1))


@numba.njit(cache=True)
def _select_kernel(match_costs, speedup, lambda_s, lambda_a, tau_s, tau_a, end_frames):
    """Dynamic programme over states (i, k): the path reached frame i + k from frame i.

    D[i, k] = C(i, i+k) + min_k' (D[i-k', k'] + lambda_a min((k - k')^2, tau_a)) for i >= g,
    D[i, k] = C(i, i+k) for i < g (a start), C = C_m + lambda_s min((k - v)^2, tau_s).
    Returns (D (T, w) float64, back (T, w) int32: the previous step k', or 0 for a start).
    Indices: column c holds step k = c + 1."""
    T, w = match_costs.shape
    D = np.full((T, w), np.inf)
    back = np.zeros((T, w), np.int32)
    velocity = np.empty(w)
    for c in range(w):
        velocity[c] = lambda_s * min((c + 1 - speedup) ** 2, tau_s)
    arrive = np.empty(w)
    for i in range(T):
        for c in range(w):  # D of the states that arrive at i: from i - k' with step k'
            h = i - (c + 1)
            arrive[c] = D[h, c] if h >= 0 else np.inf
        for c in range(w):
            cost = match_costs[i, c]
            if not cost < np.inf:
                continue  # past the clip's end
            cost += velocity[c]
            if i < end_frames:
                D[i, c] = cost
                continue
            best = np.inf
            best_step = 0
            for p in range(w):
                if arrive[p] < np.inf:
                    a = (c - p) * (c - p)
                    total = arrive[p] + lambda_a * min(a, tau_a)
                    if total < best:
                        best = total
                        best_step = p + 1
            if best < np.inf:
                D[i, c] = cost + best
                back[i, c] = best_step
    return D, back


def select_frames(costs: np.ndarray, speedup: float, config: HyperlapseConfig = HyperlapseConfig()
                  ) -> Selection:
    """The path of least total cost (module doc) for speed-up `speedup`.

    costs: (T, w) float32 C_m from `matching_costs` (+inf past the end). The path starts in the
    first g frames and ends in the last g (g = config.end_frames, at most a third of the clip)."""
    costs = np.ascontiguousarray(costs, np.float64)
    if costs.ndim != 2 or costs.shape[0] < 2:
        raise ClipError(f"a hyperlapse needs at least 2 frames, got {costs.shape[0]}")
    if not 1 <= speedup <= config.max_speedup():
        raise ConfigError(f"--speedup must be in [1, {config.max_speedup():g}] (half the window of "
                          f"{config.window_frames} frames), got {speedup:g}")
    T, w = costs.shape
    g = max(1, min(int(config.end_frames), T // 3))
    D, back = _select_kernel(costs, float(speedup), float(config.lambda_velocity),
                             float(config.lambda_acceleration), float(config.tau_velocity),
                             float(config.tau_acceleration), g)
    ends = np.full_like(D, np.inf)
    for c in range(w):  # states whose target i + c + 1 lies in the last g frames
        first = max(0, T - g - (c + 1))
        last = T - (c + 1)
        if last > first:
            ends[first:last, c] = D[first:last, c]
    flat = int(np.argmin(ends))
    i, c = divmod(flat, w)
    if not np.isfinite(ends[i, c]):
        raise ClipError(f"no path through the clip's {T} frames at speed-up {speedup:g}")
    path = [i + c + 1, i]
    while back[i, c] > 0:
        step = int(back[i, c])
        i, c = i - step, step - 1
        path.append(i)
    frames = np.array(path[::-1], np.int32)
    return Selection(frames, float(ends.flat[flat]))


def path_cost(costs: np.ndarray, frames, speedup: float,
              config: HyperlapseConfig = HyperlapseConfig()) -> float:
    """The objective of `select_frames` for a given path (a check, and the naive path's cost)."""
    frames = np.asarray(frames, np.int64)
    steps = np.diff(frames)
    total = 0.0
    for n, (i, k) in enumerate(zip(frames[:-1], steps)):
        total += float(costs[i, k - 1]) + config.lambda_velocity * min((k - speedup) ** 2,
                                                                        config.tau_velocity)
        if n > 0:
            total += config.lambda_acceleration * min((k - steps[n - 1]) ** 2, config.tau_acceleration)
    return total


def naive_frames(n_frames: int, speedup: float) -> np.ndarray:
    """Every v-th frame (rounded for a fractional v): the baseline, (n,) int32."""
    count = int(math.floor((n_frames - 1) / speedup)) + 1
    return np.unique(np.round(np.arange(count) * speedup).astype(np.int32))


def estimated_jitter_px(matches: FrameMatches, frames, *, width: int = 256) -> float:
    """The jitter of a path from the matching itself, in px at `width` (quality.py shake's size):
    the mean magnitude of the second difference of the image motion between consecutive chosen
    frames, over the pairs of consecutive steps that both matched. NaN where none did."""
    frames = np.asarray(frames, np.int64)
    steps = np.diff(frames)
    if len(steps) < 2:
        return float("nan")
    inside = steps <= matches.window_frames
    columns = np.minimum(steps, matches.window_frames) - 1
    ok = inside & matches.matched[frames[:-1], columns]
    motions = matches.motions[frames[:-1], columns].astype(np.float64)  # (n-1, 2)
    both = ok[1:] & ok[:-1]
    if not both.any():
        return float("nan")
    scale = width / matches.match_size[0]
    return float(np.mean(np.hypot(*np.diff(motions, axis=0)[both].T)) * scale)


# --- stabilisation -------------------------------------------------------------------------------
def _similarity(homography: np.ndarray, size: tuple) -> np.ndarray:
    """The similarity about the image centre nearest a homography on a 5x5 grid:
    (dx, dy, angle_rad, log_scale)."""
    width, height = size
    xs, ys = np.meshgrid(np.linspace(0, width, 5), np.linspace(0, height, 5))
    grid = np.stack([xs.ravel(), ys.ravel(), np.ones(xs.size)])  # (3, 25)
    mapped = homography @ grid
    mapped = mapped[:2] / mapped[2]
    centre = np.array([[width / 2], [height / 2]])
    src, dst = grid[:2] - centre, mapped - centre  # dst = [[a, -b], [b, a]] src + t
    src_mean, dst_mean = src.mean(axis=1, keepdims=True), dst.mean(axis=1, keepdims=True)
    s, d = src - src_mean, dst - dst_mean
    norm = float((s ** 2).sum()) or 1.0
    a = float((s * d).sum()) / norm
    b = float((s[0] * d[1] - s[1] * d[0]).sum()) / norm
    translation = (dst_mean - np.array([[a, -b], [b, a]]) @ src_mean).ravel()
    return np.array([translation[0], translation[1], math.atan2(b, a), math.log(max(math.hypot(a, b), 1e-6))])


def stabilizing_warps(matches: FrameMatches, frames, config: HyperlapseConfig = HyperlapseConfig()
                      ) -> np.ndarray:
    """(n, 2, 3) float32 affine warps, one per chosen frame, at the decoded frame size
    (matches.frame_size), for cv2.warpAffine: the chosen path's camera motion smoothed
    (a local quadratic fit over `stabilize_frames` output frames) and a crop of `stabilize_crop`.

    A step not matched (or longer than the window) counts as no motion."""
    frames = np.asarray(frames, np.int64)
    width, height = matches.frame_size
    to_frame = width / matches.match_size[0]  # match px -> frame px
    params = np.zeros((len(frames), 4))  # accumulated (dx, dy, angle, log scale) of the scene
    for n in range(1, len(frames)):
        i, k = frames[n - 1], frames[n] - frames[n - 1]
        step = np.zeros(4)
        if k <= matches.window_frames and matches.matched[i, k - 1]:
            step = _similarity(matches.homographies[i, k - 1].astype(np.float64), matches.match_size)
            step[:2] *= to_frame
        params[n] = params[n - 1] + step
    smoothed = params.copy()
    window = 2 * int(round(config.stabilize_frames / 2)) + 1
    if window > 3 and len(frames) >= window:
        # a local quadratic fit (Savitzky-Golay) per parameter: a walk that curves or speeds up
        # keeps its curve (a Gaussian would cut corners by sigma^2 x acceleration / 2, more
        # than the crop hides), and the ends are fitted, not held still
        from scipy.signal import savgol_filter

        smoothed = savgol_filter(params, window, 2, axis=0, mode="interp")
    correction = smoothed - params  # (n, 4): move frame n by this to put it on the smooth path
    crop = config.stabilize_crop
    zoom = 1.0 / (1.0 - 2 * crop)
    limit = np.array([crop * width, crop * height]) * 0.9
    correction[:, 0] = np.clip(correction[:, 0], -limit[0], limit[0])
    correction[:, 1] = np.clip(correction[:, 1], -limit[1], limit[1])
    correction[:, 2] = np.clip(correction[:, 2], -0.1, 0.1)
    correction[:, 3] = np.clip(correction[:, 3], -0.1, 0.1)
    centre = np.array([width / 2, height / 2])
    warps = np.empty((len(frames), 2, 3), np.float32)
    for n, (dx, dy, angle, log_scale) in enumerate(correction):
        factor = zoom * math.exp(log_scale)
        linear = factor * np.array([[math.cos(angle), -math.sin(angle)],
                                    [math.sin(angle), math.cos(angle)]])
        # x' = zoom (e^s R (x - c) + c + t - c) + c = linear (x - c) + zoom t + c
        warps[n, :, :2] = linear
        warps[n, :, 2] = centre - linear @ centre + zoom * np.array([dx, dy])
    return warps


# --- the outside measure -------------------------------------------------------------------------
def jitter_px(frames, *, width: int = 256) -> float:
    """Camera jitter of a sequence of (H, W, 3) uint8 RGB frames, the definition of
    ../shared/tools/quality.py `shake`: frame-to-frame translation by phase correlation on grey
    frames `width` px wide (area-resized, Hanning window), then the mean magnitude of its second
    difference, px. Lower is smoother."""
    import cv2

    greys = []
    for frame in frames:
        h0, w0 = frame.shape[:2]
        h = max(1, round(h0 * width / w0))
        small = cv2.resize(np.asarray(frame), (width, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        greys.append(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    if len(greys) < 3:
        return 0.0
    window = cv2.createHanningWindow(greys[0].shape[::-1], cv2.CV_32F)
    shifts = np.array([cv2.phaseCorrelate(greys[i], greys[i + 1], window)[0]
                       for i in range(len(greys) - 1)])
    return float(np.mean(np.hypot(*np.diff(shifts, axis=0).T)))

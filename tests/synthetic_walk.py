"""A long synthetic handheld walk with a known path (issue 17 part 5): the right answer for
hyperlapse frame selection, built in code (no footage). Benchmarks import it too.

A camera looks straight down on a large procedural ground (a periodic texture, so the walk never
meets an edge) and walks along a gently curving path at a steady speed, keeping its bearing (the
ground slides past in the direction of travel; the picture does not turn with the path). On top of the path it
shakes as a hand-held camera does:
- the gait: a vertical bob at the step rate and a sideways sway at half of it;
- hand tremor: a slowly wandering random offset (an AR(1) process);
- a small roll (rotation about the view axis);
- jolts: now and then (a stumble, a glance aside) the view is thrown far off the path for a
  few frames and comes back. These are the frames a hyperlapse should never show.

`walk_truth(n_frames, config)` gives the known path and the shake of every frame (in output
pixels); `walk_frames` renders the frames one at a time (streaming: 30,000 frames need no
memory); `write_walk` encodes them to a video.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["WalkConfig", "WalkTruth", "walk_truth", "walk_frames", "walk_array", "write_walk",
           "ground_texture"]


@dataclass(frozen=True, kw_only=True)
class WalkConfig:
    """The scene, the walk and its shake. Distances in output pixels unless said."""

    width: int = 192  # output frame width, px
    height: int = 108  # output frame height, px
    seed: int = 0  # one seed draws the ground, the path's turns, the tremor and the jolts
    ground_px: int = 2048  # side of the periodic ground texture, ground px (one output px = one
    #   ground px); the walk wraps around it, a torus, so no edge is ever seen
    speed_px: float = 2.5  # walking speed along the path, px per frame (ground moves this much)
    turn_period_frames: float = 900.0  # the heading swings left and right with this period
    turn_amplitude_rad: float = 0.6  # ... by this much either side of the mean heading
    gait_period_frames: float = 17.0  # one step: ~1.8 steps per second at 30 fps
    bob_px: float = 1.2  # vertical bob amplitude at the step rate
    sway_px: float = 0.8  # sideways sway amplitude at half the step rate
    tremor_px: float = 0.5  # hand tremor: standard deviation of the AR(1) offset
    tremor_memory: float = 0.8  # AR(1) coefficient per frame: 0 is white noise, near 1 drifts
    roll_rad: float = 0.004  # roll amplitude (about 0.25 degrees) at the step rate
    jolt_every_frames: float = 40.0  # mean gap between jolts (Poisson)
    jolt_frames: tuple[int, int] = (2, 5)  # a jolt lasts this many frames (inclusive range)
    jolt_px: tuple[float, float] = (18.0, 36.0)  # its peak offset from the path, px

    @property
    def diagonal_px(self) -> float:
        return float(np.hypot(self.width, self.height))


@dataclass(frozen=True)
class WalkTruth:
    """The known answer: where the camera should be and how far each frame is thrown off it."""

    path_xy: np.ndarray  # (T, 2) float64 smooth camera centre on the ground, px
    heading_rad: np.ndarray  # (T,) float64 direction of travel (the camera keeps its bearing)
    shake_xy: np.ndarray  # (T, 2) float64 offset of the view from the path, px in the image
    roll_rad: np.ndarray  # (T,) float64 roll of the view
    jolt: np.ndarray  # (T,) bool: frame inside a jolt

    @property
    def shake_px(self) -> np.ndarray:
        """(T,) float64 how far each frame is thrown off the smooth path, px."""
        return np.hypot(self.shake_xy[:, 0], self.shake_xy[:, 1])


@functools.lru_cache(maxsize=4)
def ground_texture(size: int = 2048, seed: int = 0) -> np.ndarray:
    """(size, size, 3) uint8 periodic ground: band-limited noise (made by FFT, so it tiles
    seamlessly) with a few thousand coloured tiles and stones on it (corners to track)."""
    rng = np.random.default_rng(seed)
    freq = np.fft.fftfreq(size)
    radius = np.hypot(freq[:, None], freq[None, :])
    shaping = np.zeros_like(radius)
    band = (radius > 0) & (radius < 0.12)  # 1/f, without the finest detail (it would alias)
    shaping[band] = radius[band] ** -1.2
    ground = np.empty((size, size, 3), np.float32)
    for channel in range(3):
        noise = np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * shaping).real
        noise = (noise - noise.mean()) / noise.std()
        ground[:, :, channel] = 110 + 38 * noise
    for _ in range(size * size // 800):  # tiles: wrapped, so the texture still tiles
        h, w = rng.integers(3, 14, size=2)
        y, x = rng.integers(0, size, size=2)
        rows, cols = (y + np.arange(h)) % size, (x + np.arange(w)) % size
        ground[np.ix_(rows, cols)] = rng.uniform(20, 235, size=3)
    return ground.clip(0, 255).astype(np.uint8)


def walk_truth(n_frames: int, config: WalkConfig = WalkConfig()) -> WalkTruth:
    """The smooth path and the shake of every frame (see the module doc)."""
    # one generator per part, so a shorter walk is the start of a longer one with the same seed
    path_rng, tremor_rng, jolt_rng = (np.random.default_rng(seed) for seed in
                                      np.random.SeedSequence(config.seed + 1).spawn(3))
    t = np.arange(n_frames, dtype=np.float64)
    phase = path_rng.uniform(0, 2 * np.pi)
    heading = 0.4 + config.turn_amplitude_rad * np.sin(2 * np.pi * t / config.turn_period_frames + phase)
    step = config.speed_px * np.stack([np.cos(heading), np.sin(heading)], axis=1)  # (T, 2)
    path = np.cumsum(step, axis=0) - step[0] + path_rng.uniform(0, config.ground_px, size=2)
    gait = 2 * np.pi * t / config.gait_period_frames
    shake = np.stack([config.sway_px * np.sin(gait / 2), config.bob_px * np.sin(gait)], axis=1)
    tremor = np.zeros((n_frames, 2))
    innovation = config.tremor_px * np.sqrt(1 - config.tremor_memory ** 2)
    for i in range(1, n_frames):
        tremor[i] = config.tremor_memory * tremor[i - 1] + tremor_rng.normal(0, innovation, size=2)
    shake += tremor
    roll = config.roll_rad * np.sin(gait + 1.0)
    jolt = np.zeros(n_frames, bool)
    rng = jolt_rng
    start = rng.exponential(config.jolt_every_frames)
    while start < n_frames - 1:
        first = int(start)
        length = int(rng.integers(config.jolt_frames[0], config.jolt_frames[1] + 1))
        peak = rng.uniform(*config.jolt_px)
        angle = rng.uniform(0, 2 * np.pi)
        for n in range(length):  # out and back: a half sine over the jolt's frames
            if first + n >= n_frames:
                break
            reach = peak * np.sin(np.pi * (n + 1) / (length + 1))
            shake[first + n] += reach * np.array([np.cos(angle), np.sin(angle)])
            jolt[first + n] = True
        start += length + 1 + rng.exponential(config.jolt_every_frames)
    return WalkTruth(path, heading, shake, roll, jolt)


def walk_frames(n_frames: int, config: WalkConfig = WalkConfig(), truth: WalkTruth | None = None):
    """Yield the walk's frames, (H, W, 3) uint8 RGB, one at a time.

    Frame t shows the ground around path[t] turned by roll[t], shifted in the image
    by shake[t] (a scene point appears shake[t] px away from where the smooth path puts it)."""
    import cv2

    truth = truth if truth is not None else walk_truth(n_frames, config)
    ground = ground_texture(config.ground_px, config.seed)
    half = np.array([config.width / 2, config.height / 2])
    for i in range(n_frames):
        angle = truth.roll_rad[i]  # the camera keeps its bearing while the path turns (as on a
        #   chest mount); it only rolls
        cos, sin = np.cos(angle), np.sin(angle)
        rotation = np.array([[cos, -sin], [sin, cos]])
        # output pixel p -> ground: R (p - half - shake) + path  (inverse map for warpAffine)
        offset = truth.path_xy[i] - rotation @ (half + truth.shake_xy[i])
        matrix = np.hstack([rotation, offset[:, None]])  # (2, 3)
        yield cv2.warpAffine(ground, matrix, (config.width, config.height),
                             flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                             borderMode=cv2.BORDER_WRAP)


def walk_array(n_frames: int, config: WalkConfig = WalkConfig()) -> tuple[np.ndarray, WalkTruth]:
    """(T, H, W, 3) uint8 frames of a short walk, and its truth."""
    truth = walk_truth(n_frames, config)
    return np.stack(list(walk_frames(n_frames, config, truth))), truth


def write_walk(path: str | Path, n_frames: int, config: WalkConfig = WalkConfig(), *,
               fps: float = 30.0, progress: bool = False) -> tuple[Path, WalkTruth]:
    """Encode the walk (H.264, CRF 18, veryfast: a long walk encodes at several hundred frames
    per second) with framechain's own writer, and return its path and truth."""
    from precompute.video_io import EncodeConfig, write_frames

    truth = walk_truth(n_frames, config)
    frames = walk_frames(n_frames, config, truth)
    callback = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n_frames, unit="frame", desc="synthetic walk", leave=False)
        callback = lambda done: bar.update(done - bar.n)  # noqa: E731
    written = write_frames(path, frames, fps=fps, config=EncodeConfig(h264_preset="veryfast"),
                           progress=callback)
    if progress:
        bar.close()
    return written, truth

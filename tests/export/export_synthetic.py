"""Synthetic clips with known loops for the export tests, analysed by the real pipeline.

- `periodic_frames`: an exact period-P cycle (a sine grating moving one P-th of its period per
  frame), so every backward jump by a multiple of P costs exactly 0 and every natural step is
  the same size.
- `known_loop_frames`: a smooth random walk that never repeats, except that frames 48..51 are
  exact copies of 8..11: the one zero-cost jump is 49 -> 10 (C[49, 10] = D1[50, 10] and the
  4-tap filter reads D[48..51, 8..11], all 0), a loop of 40 frames.
"""
import numpy as np

PERIOD = 12


def periodic_frames(n_frames: int = 6 * PERIOD, period: int = PERIOD, height: int = 24,
                    width: int = 40) -> np.ndarray:
    """(T, H, W, 3) uint8, frame t == frame t + period exactly."""
    t = np.arange(n_frames)[:, None, None, None]
    y = np.arange(height)[None, :, None, None]
    x = np.arange(width)[None, None, :, None]
    c = np.arange(3)[None, None, None, :]
    phase = 2 * np.pi * ((t % period) / period + x / width + 0.3 * y / height + c / 3.0)
    return np.round(128 + 90 * np.sin(phase)).astype(np.uint8)


def known_loop_frames(n_frames: int = 72, height: int = 24, width: int = 40, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    patterns = rng.normal(0, 1, (6, height, width, 3))  # (6, H, W, 3) fixed random images
    walk = np.zeros((n_frames, 6))
    for t in range(1, n_frames):
        walk[t] = walk[t - 1] + rng.normal(0, 0.35, 6)
    walk[48:52] = walk[8:12]  # the copied stretch: the known loop 49 -> 10
    for t in range(52, n_frames):
        walk[t] = walk[t - 1] + rng.normal(0, 0.35, 6)
    frames = 128 + 18 * np.einsum("tk,khwc->thwc", walk, patterns)  # (T, H, W, 3)
    return np.clip(np.round(frames), 0, 255).astype(np.uint8)


def analyse(frames: np.ndarray, folder):
    from precompute import analyze_clip
    from precompute.video_io import write_frames

    clip = folder / "clip"
    write_frames(clip, frames, fps=30)  # numbered PNGs: lossless, read back at 30 fps
    return analyze_clip(clip, out=folder / "analysis", progress=False)


def rms(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2)))


def steps(frames) -> np.ndarray:
    """(T-1,) RMS step between consecutive frames, and the wrap last -> first appended: (T,)."""
    frames = np.asarray(frames, np.float64)
    following = np.roll(frames, -1, axis=0)
    return np.sqrt(np.mean((frames - following) ** 2, axis=(1, 2, 3)))

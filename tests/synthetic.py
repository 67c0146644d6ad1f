"""Synthetic clips with known answers, built in code (no footage)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def textured_background(height: int, width: int, seed: int = 0) -> np.ndarray:
    """(H, W, 3) float32 smooth random texture in 0..255."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 255, (height // 4 + 1, width // 4 + 1, 3)).astype(np.float32)
    return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC).clip(0, 255)


def disc_frames(centres, *, height: int = 48, width: int = 64, radius: float = 6.0,
                seed: int = 0) -> np.ndarray:
    """(T, H, W, 3) uint8: a bright anti-aliased disc at each (x, y) centre over a texture."""
    background = textured_background(height, width, seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    frames = []
    for x, y in centres:
        alpha = np.clip(radius + 0.5 - np.hypot(xx - x, yy - y), 0, 1)[..., None]  # (H, W, 1)
        frames.append(background * (1 - alpha) + np.array([250, 240, 60], np.float32) * alpha)
    return np.stack(frames).round().astype(np.uint8)


def pendulum_frames(*, period: int = 24, periods: int = 4, height: int = 48, width: int = 64):
    """A pendulum swinging left and right through the same positions: x = cx + A sin(2 pi t / P).

    Returns (frames, velocity_sign) with velocity_sign[t] = sign of dx/dt (0 near turning points).
    """
    t = np.arange(period * periods)
    phase = 2 * np.pi * t / period
    x = width / 2 + width * 0.35 * np.sin(phase)
    frames = disc_frames([(xi, height / 2) for xi in x], height=height, width=width)
    velocity = np.cos(phase)
    sign = np.where(np.abs(velocity) > 0.3, np.sign(velocity), 0)
    return frames, sign


def cycle_frames(*, period: int = 10, repeats: int = 6, height: int = 32, width: int = 40, seed: int = 1):
    """Exact period-P cycle: frame t equals frame t mod P (exact duplicates)."""
    angles = 2 * np.pi * np.arange(period) / period
    centres = [(width / 2 + width * 0.3 * np.cos(a), height / 2 + height * 0.3 * np.sin(a)) for a in angles]
    base = disc_frames(centres, height=height, width=width, radius=5.0, seed=seed)
    return np.concatenate([base] * repeats)


def dead_end_frames(*, period: int = 20, repeats: int = 4, tail: int = 30, height: int = 32, width: int = 40):
    """A recurring cycle followed by a last stretch unlike anything before it (a dead end)."""
    cycle = cycle_frames(period=period, repeats=repeats, height=height, width=width)
    rng = np.random.default_rng(7)
    drift = np.cumsum(rng.normal(0, 1, (tail, 1, 1, 3)), axis=0) * 6 + 128
    tail_frames = (textured_background(height, width, seed=99)[None] * 0.3 + drift).clip(0, 255)
    return np.concatenate([cycle, tail_frames.round().astype(np.uint8)])


def write_image_folder(frames: np.ndarray, folder: Path) -> Path:
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame_{i:05d}.png"), np.ascontiguousarray(frame[:, :, ::-1]))
    return folder


def write_video(frames: np.ndarray, path: Path, *, fps: int = 30, codec: str = "libx264",
                pix_fmt: str | None = None, options: dict | None = None,
                faststart: bool = False) -> Path:
    """Encode frames with PyAV directly (tests build their own inputs). Default: lossless x264
    (yuv444p, CRF 0); `pix_fmt`/`options` for what cameras deliver (yuv420p, a CRF); `faststart`
    puts the index first, so that a cut file still opens and is found short."""
    import av

    with av.open(str(path), "w", options={"movflags": "+faststart"} if faststart else {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width = frames.shape[2]
        stream.height = frames.shape[1]
        stream.pix_fmt = pix_fmt or ("yuv444p" if codec == "libx264" else "yuv420p")
        if options is not None:
            stream.options = options
        elif codec == "libx264":
            stream.options = {"crf": "0"}
        for frame in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def pitch_tone(n_frames: int, *, fps: float, rate: int = 48000, base_hz: float = 300.0,
               step_hz: float = 20.0, amplitude: float = 0.5) -> np.ndarray:
    """(S,) float32 tone whose pitch encodes the frame index: base_hz + step_hz * i during frame
    i's span [round(i * rate / fps), round((i + 1) * rate / fps)), continuous phase (no step at
    the switches). S = round(n_frames * rate / fps)."""
    starts = np.round(np.arange(n_frames + 1) * rate / fps).astype(np.int64)
    frequency = np.repeat(base_hz + step_hz * np.arange(n_frames), np.diff(starts))  # (S,)
    phase = 2 * np.pi * np.cumsum(frequency) / rate
    return (amplitude * np.sin(phase)).astype(np.float32)


def frame_of_pitch(frequency_hz: float, *, base_hz: float = 300.0, step_hz: float = 20.0) -> float:
    return (frequency_hz - base_hz) / step_hz


def peak_hz(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency of a span (Hann window, 16x zero padding, parabolic peak)."""
    x = np.asarray(samples, np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    size = 16 * len(x)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x)), size))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-12)
    shift = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return (k + shift) * rate / size


def write_clip_with_sound(path: Path, frames: np.ndarray, *, fps: int, sound: np.ndarray | None,
                          rate: int = 48000, layout: str = "stereo", audio_codec: str = "pcm_s16le"
                          ) -> Path:
    """A clip with a sound track (S,) or (S, C) float in -1..1 spread to `layout`'s channels,
    through precompute.video_io (the one module that imports av)."""
    from precompute.video_io import write_test_clip

    channels = {"mono": 1, "stereo": 2, "5.1": 6, "5.1(side)": 6}[layout]
    if sound is not None and sound.ndim == 1:
        sound = np.repeat(sound[:, None], channels, axis=1)  # (S, C)
    return write_test_clip(path, frames, fps=fps, audio=sound, audio_rate=rate,
                           audio_layout=layout, audio_codec=audio_codec)


def tamper(path: Path, *, at: float | int = 0.5, mask: int = 0xFF) -> None:
    """Flip bits of one byte of a file in place (a saved file damaged or edited behind our back):
    the byte at `at` (an index, or a fraction of the length), XOR `mask`."""
    data = bytearray(Path(path).read_bytes())
    index = at if isinstance(at, int) else int(len(data) * at)
    data[index] ^= mask
    Path(path).write_bytes(bytes(data))

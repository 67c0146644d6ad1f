"""The play log (docs/ARCHITECTURE.md): what the player and the exporter write, and what outside
quality checks read. One writer for both."""
from __future__ import annotations

import os
from pathlib import Path

from precompute.errors import ExportError

__all__ = ["write_play_log", "audio_header"]

# how a stream's gain follows from its power weight w and the correlations r (docs/ARCHITECTURE.md)
GAIN_RULE = ("sqrt(S(w_k) sum w / (sum S(w) + 2 sum_k sum_m r_m sqrt(S(w_k-m) S(w_k)))), "
             "S(w) = (1 - cos(pi w)) / 2")


def audio_header(*, rate: int, channels: int, fade_ms: float, source_samples: int,
                 samples: int | None = None) -> dict:
    """The play log's "audio" object without its frames (docs/ARCHITECTURE.md, issue 18)."""
    header = {"rate": int(rate), "channels": int(channels), "fade_ms": float(fade_ms),
              "gain": GAIN_RULE, "beyond_ends": "mirror",
              "source_samples": int(source_samples)}
    if samples is not None:
        header["samples"] = int(samples)
    return header


def _audio_entry(entry) -> list:
    x, streams = entry
    return [int(x), [[round(float(stream[0]), 3), [[int(offset), round(float(weight), 6)]
                                                   for offset, weight in stream[1]]]
                     + [[round(float(r), 6) for r in rs] for rs in stream[2:3]]
                     for stream in streams]]


def write_play_log(path: str | os.PathLike, blends, *, source: str, fps: float,
                   generated: dict | None = None, audio: dict | None = None) -> Path:
    """Write a play log (docs/ARCHITECTURE.md): one `[[index, weight], ...]` entry per frame.

    audio: `audio_header(...)` plus "frames" (one engine.audio description per output frame),
    written under "audio" (issue 18); None: the play was silent and the log says nothing of sound.
    Written to a temporary file beside `path` and renamed, like the videos."""
    path = Path(path)
    log = {"format": "framechain-playlog", "format_version": 1, "source": source,
           "fps": float(fps),
           "frames": [[[int(index), round(float(weight), 6)] for index, weight in blend]
                      for blend in blends]}
    if generated:
        log["generated"] = {str(k): v for k, v in generated.items()}
    if audio is not None:
        frames = audio.get("frames", [])
        if len(frames) != len(log["frames"]):
            raise ExportError(f"--log {path}: {len(frames)} sound entries for "
                              f"{len(log['frames'])} frames")
        log["audio"] = {**{k: v for k, v in audio.items() if k != "frames"},
                        "frames": [_audio_entry(entry) for entry in frames]}
    if not path.parent.is_dir():
        raise ExportError(f"--log {path}: the folder {path.parent} does not exist; create it first")
    from precompute.files import write_json

    write_json(path, log, what="--log", separators=(",", ":"))
    return path

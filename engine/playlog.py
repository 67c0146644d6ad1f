"""The play log (docs/ARCHITECTURE.md): what the player and the exporter write, and what outside
quality checks read. One writer for both."""
from __future__ import annotations

import os
from pathlib import Path

from precompute.errors import ExportError

__all__ = ["write_play_log"]


def write_play_log(path: str | os.PathLike, blends, *, source: str, fps: float,
                   generated: dict | None = None) -> Path:
    """Write a play log (docs/ARCHITECTURE.md): one `[[index, weight], ...]` entry per frame.

    Written to a temporary file beside `path` and renamed, like the videos."""
    path = Path(path)
    log = {"format": "framechain-playlog", "format_version": 1, "source": source,
           "fps": float(fps),
           "frames": [[[int(index), round(float(weight), 6)] for index, weight in blend]
                      for blend in blends]}
    if generated:
        log["generated"] = {str(k): v for k, v in generated.items()}
    if not path.parent.is_dir():
        raise ExportError(f"--log {path}: the folder {path.parent} does not exist; create it first")
    from precompute.files import write_json

    write_json(path, log, what="--log", separators=(",", ":"))
    return path

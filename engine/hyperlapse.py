"""`framechain hyperlapse`: a long clip to a smooth fast-forward (issue 17, precompute/hyperlapse.py).

Two streaming passes over the clip, so an hour of footage needs no more memory than a minute:
1. decode, match every frame to the frames ahead at a small size, and select the path (the
   dynamic programme); the naive every-v-th path is scored the same way for comparison;
2. decode again and write the chosen frames (warped with --stabilize, resized with --size)
   through `precompute.video_io.open_writer` (every export format, a temporary file renamed
   when complete), and the play log of the chosen frames (`engine.playlog`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from precompute.errors import ExportError
from precompute.video_io import EncodeConfig

__all__ = ["HyperlapseResult", "make_hyperlapse"]


@dataclass(frozen=True)
class HyperlapseResult:
    """What was written, and how the selection compares with naive sampling."""

    path: Path
    source_frames: np.ndarray = field(repr=False)  # (n,) int32 the frames written, in order
    naive_frames: np.ndarray = field(repr=False)  # (m,) int32 every v-th frame
    n_input_frames: int
    fps: float
    speedup: float
    mean_step: float  # the speed-up the path achieves: (last - first) / (n - 1)
    cost: float  # the path's total cost (precompute.hyperlapse.path_cost)
    naive_cost: float
    jitter_px: float  # estimated from the matching, px at 256 wide (quality.py shake's measure)
    naive_jitter_px: float
    mismatched_share: float  # share of the naive path's steps that do not match (gamma)
    selection_s: float  # wall time of pass 1 (decode, matching, selection)
    log_path: Path | None = None
    stabilized: bool = False
    naive: bool = False  # --naive: the naive path was written instead

    @property
    def frames(self) -> int:
        return int(len(self.source_frames))

    def describe(self) -> str:
        return (f"{self.path} ({self.frames} frames = {self.frames / self.fps:.2f} s at "
                f"{self.fps:g} fps, from {self.n_input_frames} frames)")


def make_hyperlapse(clip: str | os.PathLike, out: str | os.PathLike, *, speedup: float,
                    config=None, size: tuple[int, int] | None = None,
                    log: str | os.PathLike | None = None, stabilize: bool = False,
                    naive: bool = False, input_fps: float | None = None,
                    allow_truncated: bool = False, encode: EncodeConfig = EncodeConfig(),
                    progress: bool = True) -> HyperlapseResult:
    """Select frames of `clip` at speed-up `speedup` and write them to `out` (format by
    extension). `naive`: write every v-th frame instead (the baseline, for comparison)."""
    import cv2

    from engine.export import writing
    from engine.playlog import write_play_log
    from precompute.hyperlapse import (HyperlapseConfig, estimated_jitter_px, match_frames,
                                       matching_costs, naive_frames, path_cost, select_frames,
                                       stabilizing_warps)
    from precompute.video_io import open_clip, open_writer, say_notes, writer_kind

    config = config or HyperlapseConfig()
    writer_kind(out)  # an unknown extension fails before any work
    if not 1 <= speedup <= config.max_speedup():
        from precompute.errors import ConfigError

        raise ConfigError(f"--speedup must be in [1, {config.max_speedup():g}], got {speedup:g}")
    started = time.perf_counter()
    with open_clip(clip, fps=input_fps, allow_truncated=allow_truncated) as reader:
        fps = float(reader.info.fps)
        matches = match_frames(reader, speedup=speedup, config=config,
                               n_frames_hint=reader.info.frame_count_hint, progress=progress)
        say_notes(reader.notes)
    costs = matching_costs(matches, config)
    selection = select_frames(costs, speedup, config)
    baseline = naive_frames(matches.n_frames, speedup)
    selection_s = time.perf_counter() - started
    chosen = baseline if naive else selection.frames
    steps = np.diff(baseline)
    baseline_matched = matches.matched[baseline[:-1], np.minimum(steps, matches.window_frames) - 1]
    warps = stabilizing_warps(matches, chosen, config) if stabilize else None
    width, height = size or matches.frame_size
    interpolation = cv2.INTER_AREA if width * height < np.prod(matches.frame_size) else cv2.INTER_LINEAR

    wanted = {int(f): n for n, f in enumerate(chosen)}
    with writing(out, count=len(chosen), what="hyperlapse: writing", progress=progress) as bar, \
            open_clip(clip, fps=input_fps, allow_truncated=allow_truncated) as reader, \
            open_writer(out, fps=fps, size=(width, height), config=encode) as writer:
        for index, frame in enumerate(reader):
            n = wanted.get(index)
            if n is None:
                continue
            if warps is not None:
                frame = cv2.warpAffine(frame, warps[n], matches.frame_size,
                                       flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            if (frame.shape[1], frame.shape[0]) != (width, height):
                frame = cv2.resize(frame, (width, height), interpolation=interpolation)
            writer.write(frame)
            bar.update(1)
            if n == len(chosen) - 1:
                break  # the last chosen frame: the rest of the clip need not be decoded
        if writer.frames_written != len(chosen):
            raise ExportError(f"{clip}: the clip decoded to fewer frames the second time "
                              f"({writer.frames_written} of {len(chosen)} chosen frames found); "
                              "nothing was written")
    log_path = None
    if log is not None:
        log_path = write_play_log(log, [[(int(f), 1.0)] for f in chosen], source=str(clip), fps=fps)
    return HyperlapseResult(
        Path(writer.path), np.asarray(chosen, np.int32), baseline, matches.n_frames, fps,
        float(speedup), float((chosen[-1] - chosen[0]) / max(1, len(chosen) - 1)),
        path_cost(costs, chosen, speedup, config), path_cost(costs, baseline, speedup, config),
        estimated_jitter_px(matches, chosen), estimated_jitter_px(matches, baseline),
        float(1 - baseline_matched.mean()) if len(baseline_matched) else 0.0, selection_s,
        log_path, bool(stabilize), bool(naive))

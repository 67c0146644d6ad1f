"""From a clip to a saved, checked video texture: the offline pipeline and its cache.

decode (streaming, once) -> features + frame store -> distances -> dynamics filter -> transition
costs -> future cost -> pruned links + loop candidates -> saved analysis folder.
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

from precompute.bundle import Analysis, is_analysis, load_analysis, save_analysis, source_identity
from precompute.config import AnalysisConfig
from precompute.distances import frame_distances, rms_scale
from precompute.dynamics import dynamics_filter, restless_frames, transition_costs
from precompute.errors import AnalysisError, ClipError
from precompute.features import frame_feature, frame_feature_u8
from precompute.future_cost import future_cost
from precompute.links import analysis_arrays, loop_candidates, prune_links
from precompute.video_io import open_clip

__all__ = ["analyze_clip", "analysis_for", "analysis_flows", "analyze_features", "cache_dir", "cached_path",
           "MIN_FRAMES", "decode_features"]

MIN_FRAMES = 4  # fewer frames leave nowhere to jump to
_PREVIEW = 512  # side of the distance-matrix previews saved for plots


def cache_dir() -> Path:
    """$FRAMECHAIN_CACHE, else $XDG_CACHE_HOME/framechain, else ~/.cache/framechain."""
    if os.environ.get("FRAMECHAIN_CACHE"):
        return Path(os.environ["FRAMECHAIN_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "framechain"


def _code_version() -> str:
    """The installed framechain version: a new release never reuses an older release's cache."""
    try:
        from importlib.metadata import version

        return version("framechain")
    except Exception:  # running from a source tree that is not installed
        return "dev"


def cached_path(source: dict, config: AnalysisConfig, fps: float | None = None) -> Path:
    """Cache folder of a clip's analysis: by content hash, settings, format and code version."""
    import hashlib

    from precompute.bundle import FORMAT_VERSION

    fps_part = f"-fps{fps:g}" if fps else ""
    code = hashlib.sha256(f"{FORMAT_VERSION}/{_code_version()}".encode()).hexdigest()[:6]
    return cache_dir() / f"{source['sha256'][:16]}-{config.key()}-{code}{fps_part}"


def _progress(total: int | None, desc: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total or None, desc=desc, unit="frame", disable=not enabled, leave=False)


class _BackgroundWriter:
    """Appends byte buffers to a file from a second thread (file writes release the GIL), so
    the frame store's copy into the page cache overlaps with decoding the next frame."""

    def __init__(self, path, depth: int = 8):
        import queue
        import threading

        self._file = open(path, "wb")
        self._queue = queue.Queue(depth)
        self._error = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while (item := self._queue.get()) is not None:
            try:
                if self._error is None:
                    self._file.write(item)
            except OSError as error:
                self._error = error

    def write(self, buffer) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(buffer)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._queue.put(None)
        self._thread.join()
        self._file.close()
        if self._error is not None and exc[0] is None:
            raise self._error


def decode_features(path: str | os.PathLike, config: AnalysisConfig, *, store_file: str | os.PathLike,
                    fps: float | None = None, progress: bool = True,
                    feature_file: str | os.PathLike | None = None):
    """Stream the clip once: features (N, d), frames appended to `store_file`.

    Returns (features, store_shape (N, H, W, 3), ClipInfo). Full-resolution frames are never
    held beyond the one being decoded. Features are float32 in memory; with `feature_file` they
    are appended to that file as they come and returned as a read-only np.memmap, so that an
    hour of footage never holds them all in memory: uint8 (exact: area-downscaled uint8 frames
    are whole numbers, and a quarter of the size) unless equalize_brightness makes them
    fractional (float32 then).
    """
    import cv2

    features = []
    store_size = None
    whole = not config.equalize_brightness  # features are whole numbers 0..255
    count, length = 0, 0
    chunk, filled = None, 0  # uint8 features go to the file 256 frames at a time
    with open_clip(path, fps=fps) as reader, _BackgroundWriter(store_file) as store, \
            open(feature_file if feature_file is not None else os.devnull, "wb") as feature_out, \
            _progress(reader.info.frame_count_hint, "decode", progress) as bar:
        info = reader.info
        for frame in reader:  # (H, W, 3) uint8
            if store_size is None:
                height, width = frame.shape[:2]
                if height > config.store_max_height:
                    store_size = (max(1, round(width * config.store_max_height / height)),
                                  config.store_max_height)
                else:
                    store_size = (width, height)
            stored = frame if (frame.shape[1], frame.shape[0]) == store_size else \
                cv2.resize(frame, store_size, interpolation=cv2.INTER_AREA)
            store.write(np.ascontiguousarray(stored))  # the array is not reused: safe to queue
            if feature_file is not None and whole:
                feature = frame_feature_u8(frame, feature_width=config.feature_width)  # (d,) uint8
                if chunk is None:
                    chunk = np.empty((256, feature.shape[0]), np.uint8)
                chunk[filled] = feature
                filled += 1
                if filled == len(chunk):
                    feature_out.write(chunk.data)
                    filled = 0
            else:
                feature = frame_feature(frame, feature_width=config.feature_width,
                                        equalize=config.equalize_brightness)  # (d,) float32
                if feature_file is not None:
                    feature_out.write(feature.data)
                else:
                    features.append(feature)
            count += 1
            length = feature.shape[0]
            bar.update(1)
        if filled:
            feature_out.write(chunk[:filled].data)
    n = count
    if n < MIN_FRAMES:
        raise ClipError(f"{path}: only {n} frame{'s' if n != 1 else ''} decoded; a video texture "
                        f"needs at least {MIN_FRAMES}: give a longer clip")
    if feature_file is not None:
        features = np.memmap(feature_file, dtype=np.uint8 if whole else np.float32, mode="r",
                             shape=(n, length))  # (N, d) read-only, paged in as read
    else:
        features = np.stack(features)  # (N, d) float32
    return features, (n, store_size[1], store_size[0], 3), info


def _preview(matrix: np.ndarray) -> np.ndarray:
    """Downsample an (N, N) matrix to at most _PREVIEW per side by block means (inf -> nan)."""
    n = matrix.shape[0]
    step = max(1, -(-n // _PREVIEW))
    m = np.where(np.isfinite(matrix), matrix, np.nan).astype(np.float32)
    size = n // step
    if step == 1:
        return m
    m = m[: size * step, : size * step].reshape(size, step, size, step)
    return np.nanmean(m, axis=(1, 3)).astype(np.float32)


def analyze_features(features: np.ndarray, config: AnalysisConfig = AnalysisConfig()) -> tuple[dict, dict]:
    """The dense analysis of (N, d) float32 features -> (arrays, stats) as saved (pure function).

    Costs are converted to RMS units (distance / sqrt(d)) so thresholds compare with the clip's
    natural steps and with the outside quality measure.
    """
    x = np.asarray(features)
    if x.ndim != 2 or x.dtype != np.float32:
        raise ValueError(f"features must be (N, d) float32, got {x.shape} {x.dtype}")
    n = x.shape[0]
    timings = {}
    t0 = time.perf_counter()
    distances = frame_distances(x, device=config.device)  # (N, N) Euclidean
    distances *= np.float32(rms_scale(x.shape[1]))  # -> RMS units
    timings["distances_s"] = time.perf_counter() - t0
    natural = distances[np.arange(n - 1), np.arange(1, n)].astype(np.float32)  # (N-1,)
    positive = natural[natural > 0]
    median_step = float(np.median(positive)) if positive.size else 1.0

    t0 = time.perf_counter()
    m = config.filter_half_taps
    costs = transition_costs(distances, m=m, min_jump_frames=config.min_jump_frames)  # (N, N)
    # loop candidates come from every jump: a loop's few jumps are chosen by their own cost
    loops = loop_candidates(costs, max_candidates=config.max_loop_candidates)
    if config.calm_jump_motion > 0:
        _forbid_restless_jumps(costs, natural, config.calm_jump_motion * median_step)
    finite = np.isfinite(costs)
    if not finite[-1].any():  # a clip so short that the last frame has nowhere to go
        costs[-1, 0] = distances[-1, 0]
    timings["dynamics_s"] = time.perf_counter() - t0
    powered = costs[finite & (costs > 0)] ** config.power
    mean_cost = float(powered.mean()) if powered.size else 1.0
    sigma = config.sigma_scale * mean_cost

    t0 = time.perf_counter()
    solution = future_cost(costs, alpha=config.alpha, p=config.power, form=config.future_form,
                           sigma=sigma, tolerance=config.tolerance, max_passes=config.max_passes)
    timings["future_cost_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    links = prune_links(costs, solution.value, alpha=config.alpha, power=config.power, sigma=sigma,
                        max_jump_cost=config.max_jump_cost * median_step,
                        min_probability=config.min_probability,
                        max_links=config.max_links_per_frame)
    timings["links_s"] = time.perf_counter() - t0
    filtered = dynamics_filter(distances, m=m) if m else distances
    return analysis_arrays(links, loops, future_value=solution.value, natural_steps=natural,
                           preview_distances=_preview(distances), preview_filtered=_preview(filtered),
                           sigma=sigma, mean_cost=mean_cost, median_step=median_step,
                           passes=solution.passes, converged=solution.converged,
                           feature_length=x.shape[1], method="dense", timings=timings)


def _forbid_restless_jumps(costs: np.ndarray, natural: np.ndarray, limit: float, window: int = 3) -> None:
    """In place: forbid jumps whose source or destination lies in a restless stretch (a natural
    step above `limit` within `window` frames), where a crossfade would show. Rows left without a
    jump keep their cheapest one."""
    n = costs.shape[0]
    restless = restless_frames(natural, limit, window)  # (N,) bool
    keep_best = np.argmin(costs, axis=1)
    natural_next = np.arange(n) + 1
    mask = restless[:, None] | restless[None, :]
    saved = costs[np.arange(n), keep_best].copy()
    costs[mask] = np.inf
    costs[np.arange(n - 1), natural_next[:-1]] = 0.0
    lost = ~np.isfinite(costs).any(axis=1)
    costs[np.flatnonzero(lost), keep_best[lost]] = saved[lost]


def _use_sparse(n: int, config: AnalysisConfig) -> bool:
    return 3 * 4 * n * n > config.dense_memory_budget_bytes  # D, C and a filtered copy in float32


def analyze_clip(path: str | os.PathLike, config: AnalysisConfig = AnalysisConfig(), *,
                 out: str | os.PathLike | None = None, fps: float | None = None,
                 progress: bool = True, source: dict | None = None) -> Analysis:
    """Analyse a clip and save it (to `out`, or the cache); returns the loaded Analysis."""
    path = Path(path)
    if not path.exists():
        raise ClipError(f"{path}: no such file or folder; check the path")
    source = dict(source or source_identity(path))
    target = Path(out) if out is not None else cached_path(source, config, fps)
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".decode-") as tmp:
        store_file = Path(tmp) / "frames.u8"
        features, store_shape, info = decode_features(path, config, store_file=store_file, fps=fps,
                                                      progress=progress,
                                                      feature_file=Path(tmp) / "features.bin")
        decode_s = time.perf_counter() - started
        n = features.shape[0]
        if _use_sparse(n, config):
            from precompute.sparse import sparse_links  # issue 7: k-NN candidates, sparse graph

            arrays, stats = sparse_links(features, config=config)
        else:
            arrays, stats = analyze_features(np.asarray(features, dtype=np.float32), config)
        stats["timings"]["decode_s"] = decode_s
        stats["timings"]["total_s"] = time.perf_counter() - started
        source.update(frames=n, fps=info.fps, width=info.width or store_shape[2],
                      height=info.height or store_shape[1], kind=info.kind)
        save_analysis(target, config=config, source=source, fps=info.fps, arrays=arrays,
                      store_file=store_file, store_shape=store_shape, stats=stats)
    return load_analysis(target, check_source=False)


def analysis_for(path: str | os.PathLike, config: AnalysisConfig | None = None, *,
                 fps: float | None = None, progress: bool = True) -> Analysis:
    """An analysis folder is loaded; a clip is analysed, or taken from the cache when done before."""
    path = Path(path)
    if is_analysis(path):
        return load_analysis(path)
    if not path.exists():
        raise ClipError(f"{path}: no such file or folder; check the path")
    config = config or AnalysisConfig()
    source = source_identity(path)
    cached = cached_path(source, config, fps)
    if is_analysis(cached):
        try:
            return load_analysis(cached, clip=path)
        except AnalysisError:
            pass  # a stale or damaged cache entry is simply made again
    return analyze_clip(path, config, out=cached, fps=fps, progress=progress, source=source)


def analysis_flows(analysis: Analysis, *, progress: bool = True):
    """Optical flows for the analysis' jumps (the morph transition): loaded from the analysis
    folder when computed before, else computed once now and stored there, so that playback never
    computes flow."""
    import dataclasses
    import sys

    from precompute.bundle import load_flows, save_flows
    from precompute.flows import FlowConfig, link_flows

    config = FlowConfig()
    settings = dataclasses.asdict(config)
    flows = load_flows(analysis, settings)
    if flows is None:
        if progress:
            print("framechain: computing optical flow for the jumps (once; stored with the analysis)",
                  file=sys.stderr)
        flows = link_flows(np.asarray(analysis.frames), analysis.link_offsets, analysis.link_targets,
                           config=config)
        try:
            save_flows(analysis, flows, settings)
        except OSError as error:  # a read-only analysis folder: use them without storing
            print(f"framechain: could not store the flows ({error}); they will be computed again",
                  file=sys.stderr)
    return flows

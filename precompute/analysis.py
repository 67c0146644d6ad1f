"""From a clip to a saved, checked video texture: the offline pipeline and its cache.

decode (streaming, once) -> features + frame store -> distances -> dynamics filter -> transition
costs -> future cost -> pruned links + loop candidates -> saved analysis folder.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from precompute.bundle import (Analysis, is_analysis, load_analysis, save_analysis, source_identity,
                               store_hasher)
from precompute.config import AnalysisConfig
from precompute.errors import AnalysisError, ClipError, ExportError, FramechainError
from precompute.video_io import open_clip, say_notes

# The modules with numba kernels (distances, dynamics, future cost, links) are imported where they
# are used: analyze_clip has numba and every kernel loaded on a background thread while FFmpeg
# decodes (precompute.warmup, issue 17), and the features take the same numbers without numba
# until their kernel is there.

__all__ = ["analyze_clip", "analysis_for", "remember_analysis", "analysis_flows", "analyze_features", "cache_dir", "cached_path",
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


class _NoProgress:
    """The bar's interface doing nothing: without a bar, tqdm is not imported (~30 ms)."""

    def update(self, n: int = 1) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def _progress(total: int | None, desc: str, enabled: bool):
    if not enabled:
        return _NoProgress()
    from tqdm import tqdm

    return tqdm(total=total or None, desc=desc, unit="frame", leave=False)


class _FrameWorker:
    """Runs `work(frame)` for each frame on a second thread, in order. The per-frame work of the
    decode loop (the frame store's write, the features: file writes, OpenCV and the numba
    kernel all release the GIL) then overlaps with FFmpeg decoding the next frames, and the
    decoding thread only hands frames over. A failure stops the work (the rest of the frames
    are drained unread) and is raised in the decoding thread."""

    def __init__(self, work, depth: int = 8):
        import queue
        import threading

        self._work = work
        self._queue = queue.Queue(depth)
        self._error = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while (frame := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._work(frame)
                except BaseException as error:  # raised again in the decoding thread
                    self._error = error

    def put(self, frame) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(frame)  # the reader never reuses a yielded array: safe to queue

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._queue.put(None)
        self._thread.join()
        if self._error is not None and exc[0] is None:
            raise self._error


# The frame store's hash (precompute.bundle.store_hasher), fed every byte as the worker thread
# writes it (issue 16: a frame changed inside frames.u8 is found on load). A module name so that
# benchmarks/bench_safety.py can swap in a no-op and measure what hashing costs.
_store_hasher = store_hasher


def _queue_depth(info, budget_bytes: int = 64 * 1024**2) -> int:
    """Frames queued for the worker: ~64 MiB of full-size RGB frames (8 to 256). A deep queue
    lets FFmpeg decode on through the worker's slower moments (a write the disk holds up)."""
    frame_bytes = max(1, info.width * info.height * 3)
    return int(min(256, max(8, budget_bytes // frame_bytes)))


def _store_size(width: int, height: int, config: AnalysisConfig) -> tuple[int, int]:
    """(width, height) of the display frames: the clip's, or scaled to store_max_height."""
    if height > config.store_max_height:
        return max(1, round(width * config.store_max_height / height)), config.store_max_height
    return width, height


def decode_features(path: str | os.PathLike, config: AnalysisConfig, *, store_file: str | os.PathLike,
                    fps: float | None = None, progress: bool = True,
                    feature_file: str | os.PathLike | None = None, allow_truncated: bool = False,
                    store: str = "raw", proxy: "ProxyConfig | None" = None,
                    store_index: dict | None = None, warmup: "Warmup | None" = None):
    """Stream the clip once: features (N, d), display frames to `store_file`.

    Returns (features, store_shape (N, H, W, 3), ClipInfo, store_digest). The store's hash
    (xxh3-128) covers every byte and is taken as the frames are written (no second read).

    `store`: "raw" (uint8 frames, what `frames.u8` holds), "proxy" (short-GOP H.264 at the
    display size with even sides, precompute.frame_store) or "auto" (the proxy where the raw
    store would pass `proxy.raw_limit_bytes`). `store_index`, a dict, receives "kind" (the
    store written) and for the proxy its index: "offsets" (N+1,) int64 and "keys" (N,) bool. FFmpeg converts each decoded picture
    once, with one kept scaler: to RGB at the clip's size for the features (block means of it,
    so they are the numbers of `frame_feature`), and, where the display size differs, scales the
    picture itself to the display size (RGB for the raw store, yuv420p for the proxy, whose
    encoder then takes the decoder's own picture: no RGB on the way).

    Full-resolution frames are never held beyond the few queued for the worker thread. Features
    are float32 in memory; with `feature_file` they are appended to that file as they come and
    returned as a read-only np.memmap, so that an hour of footage never holds them all in memory:
    uint8 (exact: area-downscaled uint8 frames are whole numbers, and a quarter of the size)
    unless equalize_brightness makes them fractional (float32 then).

    `warmup` (precompute.warmup.Warmup): started here once the clip has opened, loads the
    features' numba kernel beside the decoding; until it has, the features are the same numbers
    taken without numba (never waited for).
    """
    from precompute.frame_store import ProxyConfig, choose_store, proxy_size

    if store not in ("auto", "raw", "proxy"):
        raise ValueError(f"store must be 'auto', 'raw' or 'proxy', got {store!r}")
    proxy = proxy or ProxyConfig()
    whole = not config.equalize_brightness  # features are whole numbers 0..255
    state = {"count": 0, "length": 0, "store_size": None, "chunk": None, "filled": 0, "features": [],
             "writer": None}
    store_hash = _store_hasher()  # hashlib drops the GIL on large buffers: overlaps decoding

    with open(store_file, "wb") as store_out, \
            open(feature_file if feature_file is not None else os.devnull, "wb") as feature_out:

        def work(decoded):  # DecodedFrame, on the worker thread
            from precompute.features import frame_feature, frame_feature_u8

            wait = warmup is None or warmup.features_loaded.is_set()  # see the doc
            frame = decoded.rgb  # (H, W, 3) uint8 at the clip's size
            if state["store_size"] is None:
                if decoded.display is not None:
                    state["store_size"] = (decoded.display.shape[1], decoded.display.shape[0])
                else:
                    state["store_size"] = (decoded.picture.width, decoded.picture.height)
                if store == "proxy":  # even sides (a clip whose size was not known ahead)
                    state["store_size"] = proxy_size(state["store_size"])
                    from precompute.video_io import ProxyWriter, full_chroma

                    state["writer"] = ProxyWriter(store_out, size=state["store_size"], fps=info.fps,
                                                  crf=proxy.crf, gop=proxy.gop, preset=proxy.preset,
                                                  full_chroma=full_chroma(decoded.picture),
                                                  hasher=store_hash)
            if store == "proxy":
                if decoded.picture is not None:
                    state["writer"].write_picture(decoded.picture)
                else:
                    state["writer"].write(np.ascontiguousarray(decoded.display))
            else:
                stored = np.ascontiguousarray(decoded.display)
                if (stored.shape[1], stored.shape[0]) != state["store_size"]:  # the size changed
                    import cv2

                    stored = cv2.resize(stored, state["store_size"], interpolation=cv2.INTER_AREA)
                store_out.write(stored)
                store_hash.update(stored)
            if feature_file is not None and whole:
                feature = frame_feature_u8(frame, feature_width=config.feature_width,
                                           wait=wait)  # (d,) uint8
                if state["chunk"] is None:  # uint8 features go to the file 256 frames at a time
                    state["chunk"] = np.empty((256, feature.shape[0]), np.uint8)
                state["chunk"][state["filled"]] = feature
                state["filled"] += 1
                if state["filled"] == len(state["chunk"]):
                    feature_out.write(state["chunk"].data)
                    state["filled"] = 0
            else:
                feature = frame_feature(frame, feature_width=config.feature_width,
                                        equalize=config.equalize_brightness, wait=wait)  # (d,) float32
                if feature_file is not None:
                    feature_out.write(feature.data)
                else:
                    state["features"].append(feature)
            state["count"] += 1
            state["length"] = feature.shape[0]

        with open_clip(path, fps=fps, allow_truncated=allow_truncated) as reader, \
                _FrameWorker(work, _queue_depth(reader.info)) as worker, \
                _progress(reader.info.frame_count_hint, "decode", progress) as bar:
            info = reader.info
            display = None
            if info.width and info.height:
                display = _store_size(info.width, info.height, config)
                if store == "auto":  # the frame count is the container's hint here
                    store = choose_store("auto", frames=info.frame_count_hint, size=display,
                                         config=proxy)
                if store == "proxy":
                    display = proxy_size(display)
            elif store == "auto":
                store = "raw"
            if store_index is not None:
                store_index["kind"] = store
            if warmup is not None:
                if info.frame_count_hint and _use_sparse(info.frame_count_hint, config):
                    warmup.dense = False  # the dense analysis' kernels will not be called
                warmup.start()
            for decoded in reader.decoded(display, pictures=store == "proxy"):
                worker.put(decoded)
                bar.update(1)
        say_notes(reader.notes)
        if state["filled"]:
            feature_out.write(state["chunk"][:state["filled"]].data)
        if state["writer"] is not None:
            offsets, keys = state["writer"].close()
            if store_index is not None:
                store_index.update(offsets=offsets, keys=keys, pix_fmt=state["writer"].pix_fmt)
    n, length, store_size = state["count"], state["length"], state["store_size"]
    if n < MIN_FRAMES:
        raise ClipError(f"{path}: only {n} frame{'s' if n != 1 else ''} decoded; a video texture "
                        f"needs at least {MIN_FRAMES}: give a longer clip")
    if feature_file is not None:
        features = np.memmap(feature_file, dtype=np.uint8 if whole else np.float32, mode="r",
                             shape=(n, length))  # (N, d) read-only, paged in as read
    else:
        features = np.stack(state["features"])  # (N, d) float32
    return features, (n, store_size[1], store_size[0], 3), info, store_hash.hexdigest()


def _block_finite_means(matrix, step, size):
    return _block_finite_means_kernel()(matrix, step, size)


def _block_finite_means_kernel():
    import numba

    global _block_finite_means_jit
    if _block_finite_means_jit is None:
        _block_finite_means_jit = numba.njit(cache=True)(_block_finite_means_py)
    return _block_finite_means_jit


_block_finite_means_jit = None


def _block_finite_means_py(matrix, step, size):
    """(size, size) float32 means of the finite entries of each step x step block (NaN if none)."""
    sums = np.zeros((size, size), np.float64)
    counts = np.zeros((size, size), np.int64)
    for i in range(size * step):
        row = matrix[i]
        bi = i // step
        for j in range(size * step):
            v = row[j]
            if np.isfinite(v):
                sums[bi, j // step] += v
                counts[bi, j // step] += 1
    out = np.empty((size, size), np.float32)
    for a in range(size):
        for b in range(size):
            out[a, b] = sums[a, b] / counts[a, b] if counts[a, b] else np.nan
    return out


def _preview(matrix: np.ndarray) -> np.ndarray:
    """Downsample an (N, N) matrix to at most _PREVIEW per side by block means (inf -> nan)."""
    n = matrix.shape[0]
    step = max(1, -(-n // _PREVIEW))
    if step == 1:
        return np.where(np.isfinite(matrix), matrix, np.nan).astype(np.float32)
    return _block_finite_means(np.ascontiguousarray(matrix, np.float32), step, n // step)


@contextlib.contextmanager
def _numba_threads(count: int | None):
    """numba's parallel regions run on `count` threads inside (this thread's setting; None:
    unchanged)."""
    if count is None:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(min(count, before))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def analyze_features(features: np.ndarray, config: AnalysisConfig = AnalysisConfig(), *,
                     fps: float = 30.0) -> tuple[dict, dict]:
    """The dense analysis of (N, d) float32 features of a clip at `fps` -> (arrays, stats) as
    saved (pure function). fps sets the jump rate and the span play should not repeat within.

    Costs are converted to RMS units (distance / sqrt(d)) so thresholds compare with the clip's
    natural steps and with the outside quality measure.

    Below 3000 x 3000 pairs (as the distances' serial passes) numba's parallel regions run on
    the calling thread alone: a region of the future cost's passes or of the graph's kernels
    takes well under a millisecond at N=800, and waking numba's OpenMP workers for it (which
    then spin) cost more than it gave: the whole analysis of the 800-frame candle took 0.32 s of
    CPU against 0.17 s (issue 17), and on a busy machine a region waits for both its threads to
    be scheduled. Each of those kernels computes every row on its own: the same numbers."""
    from precompute.distances import _PARALLEL_MIN_PAIRS

    n = np.shape(features)[0]
    with _numba_threads(1 if n * n < _PARALLEL_MIN_PAIRS else None):
        return _analyze_features(features, config, fps=fps)


def _analyze_features(features: np.ndarray, config: AnalysisConfig, *, fps: float) -> tuple[dict, dict]:
    """analyze_features, with numba's threads as it set them."""
    from precompute.distances import frame_distances, rms_scale
    from precompute.dynamics import dynamics_filter, transition_costs
    from precompute.future_cost import future_cost
    from precompute.links import analysis_arrays, loop_candidates, prune_links

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
    finite = np.isfinite(costs)
    if not finite[-1].any():  # a clip so short that the last frame has nowhere to go
        costs[-1, 0] = distances[-1, 0]
        finite[-1, 0] = True
    timings["dynamics_s"] = time.perf_counter() - t0
    powered = costs[finite & (costs > 0)] ** config.power
    mean_cost = float(powered.mean()) if powered.size else 1.0
    sigma = config.sigma_scale * mean_cost

    t0 = time.perf_counter()
    solution = future_cost(costs, alpha=config.alpha, p=config.power, form=config.future_form,
                           sigma=sigma, tolerance=config.tolerance, max_passes=config.max_passes)
    timings["future_cost_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    links, playable, graph_stats = prune_links(costs, solution.value, natural, config=config,
                                               sigma=sigma, median_step=median_step, fps=fps,
                                               wrap_cost=float(distances[-1, 0]))
    timings["links_s"] = time.perf_counter() - t0
    filtered = dynamics_filter(distances, m=m) if m else distances
    return analysis_arrays(links, loops, future_value=solution.value, natural_steps=natural,
                           preview_distances=_preview(distances), preview_filtered=_preview(filtered),
                           sigma=sigma, mean_cost=mean_cost, median_step=median_step,
                           passes=solution.passes, converged=solution.converged,
                           feature_length=x.shape[1], method="dense", timings=timings,
                           playable=playable, graph_stats=graph_stats)


def _use_sparse(n: int, config: AnalysisConfig) -> bool:
    return 3 * 4 * n * n > config.dense_memory_budget_bytes  # D, C and a filtered copy in float32


def analyze_clip(path: str | os.PathLike, config: AnalysisConfig = AnalysisConfig(), *,
                 out: str | os.PathLike | None = None, fps: float | None = None,
                 progress: bool = True, source: dict | None = None,
                 allow_truncated: bool = False, audio: bool = True,
                 proxy: "ProxyConfig | None" = None) -> Analysis:
    """Analyse a clip and save it (to `out`, or the cache); returns the loaded Analysis.

    audio: also decode the clip's sound and keep it beside the analysis (issue 18; False saves
    it silent: benchmarks measure what sound costs). The display frames go to the raw store or
    the proxy as `config.store` says (`proxy`: the proxy's settings,
    precompute.frame_store.ProxyConfig)."""
    from precompute.files import check_input
    from precompute.frame_store import ProxyConfig
    from precompute.warmup import Warmup

    proxy = proxy or ProxyConfig()

    path = check_input(path)  # a FIFO or a device would block or never end
    # numba and the kernels load while the clip decodes (decode_features starts it)
    warmup = Warmup(dense=True, config=config)
    source = dict(source or source_identity(path))
    target = Path(out) if out is not None else cached_path(source, config, fps)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".decode-") as tmp:
            store_file = Path(tmp) / "frames.store"
            store_index: dict = {}
            features, store_shape, info, store_digest = decode_features(
                path, config, store_file=store_file, fps=fps, progress=progress,
                feature_file=Path(tmp) / "features.bin", allow_truncated=allow_truncated,
                store=config.store, proxy=proxy, store_index=store_index, warmup=warmup)
            decode_s = time.perf_counter() - started
            n = features.shape[0]
            sound = None
            if audio:
                from precompute.video_io import decode_audio

                started_audio = time.perf_counter()
                sound = decode_audio(path, n_frames=n, fps=info.fps, input_fps=fps)
                audio_s = time.perf_counter() - started_audio
            if _use_sparse(n, config):
                from precompute.sparse import sparse_links  # issue 7: k-NN candidates, sparse graph

                arrays, stats = sparse_links(features, config=config, fps=info.fps)
            else:
                warmup.join()  # its kernels are the ones called next: no second load
                arrays, stats = analyze_features(np.asarray(features, dtype=np.float32), config,
                                                 fps=info.fps)
            stats["timings"]["decode_s"] = decode_s
            if sound is not None:
                stats["timings"]["audio_s"] = audio_s
            stats["timings"]["total_s"] = time.perf_counter() - started
            source.update(frames=n, fps=info.fps, width=info.width or store_shape[2],
                          height=info.height or store_shape[1], kind=info.kind)
            settings = None
            if store_index["kind"] == "proxy":
                arrays["proxy_offsets"] = store_index["offsets"]
                arrays["proxy_keys"] = store_index["keys"]
                settings = {"codec": "h264", "crf": proxy.crf, "gop": proxy.gop,
                            "preset": proxy.preset, "pix_fmt": store_index["pix_fmt"]}
            save_analysis(target, config=config, source=source, fps=info.fps, arrays=arrays,
                          store_file=store_file, store_shape=store_shape, stats=stats,
                          store_digest=store_digest, audio=sound, store_kind=store_index["kind"],
                          store_settings=settings)
    except OSError as error:  # a full disk, a read-only folder: one line naming where
        warmup.dense = False  # nothing more to load for
        if isinstance(error, FramechainError):
            raise
        from precompute.files import os_error_message

        raise ExportError(f"{target}: cannot write the analysis there ({os_error_message(error)}); "
                          "nothing was left behind") from None
    except BaseException:  # a clip refused, Ctrl-C: the process may end, so no more loading
        warmup.dense = False
        raise
    # the store was hashed as it was written a moment ago: reading it all again would double
    # the hashing cost (the other files and the manifest are still checked)
    return load_analysis(target, check_source=False, check_store=False)


def analysis_for(path: str | os.PathLike, config: AnalysisConfig | None = None, *,
                 fps: float | None = None, progress: bool = True,
                 allow_truncated: bool = False) -> Analysis:
    """An analysis folder is loaded; a clip is analysed, or taken from the cache when done before."""
    from precompute.files import check_input

    path = check_input(path)  # before any read: a FIFO or a device would block or never end
    if is_analysis(path):
        return load_analysis(path)
    config = config or AnalysisConfig()
    source = source_identity(path)
    cached = cached_path(source, config, fps)
    if is_analysis(cached):
        try:
            # a link to an `analyze -o` folder (remember_analysis) loads as that folder
            return load_analysis(cached.resolve() if cached.is_symlink() else cached, clip=path)
        except AnalysisError:
            pass  # a stale or damaged cache entry is simply made again
    if cached.is_symlink():  # a link to an `analyze -o` folder since moved, changed or deleted
        cached.unlink()
    return analyze_clip(path, config, out=cached, fps=fps, progress=progress, source=source,
                        allow_truncated=allow_truncated)


def remember_analysis(path: str | os.PathLike, analysis: Analysis, *, fps: float | None = None) -> None:
    """Link the cache entry of `path` (with the analysis' settings) to an analysis saved
    elsewhere (`analyze CLIP -o DIR`), so that `info CLIP` or `play CLIP` finds it instead of
    analysing again. The link is checked like any cache entry when used; a cache that cannot be
    written is skipped: the analysis itself is saved."""
    cached = cached_path(analysis.source, analysis.config, fps)
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        if cached.is_symlink() or not cached.exists():
            cached.unlink(missing_ok=True)
            cached.symlink_to(Path(analysis.path).resolve(), target_is_directory=True)
    except OSError:
        pass


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
        from precompute.frame_store import is_frame_store

        frames = analysis.frames if is_frame_store(analysis.frames) else np.asarray(analysis.frames)
        flows = link_flows(frames, analysis.link_offsets, analysis.link_targets,
                           config=config)
        try:
            save_flows(analysis, flows, settings)
        except OSError as error:  # a read-only analysis folder: use them without storing
            print(f"framechain: could not store the flows ({error}); they will be computed again",
                  file=sys.stderr)
    return flows

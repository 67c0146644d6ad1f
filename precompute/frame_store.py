"""The proxy frame store: display frames of a long clip as short-GOP H.264 with an index, read
like the raw store's array, with a small cache and a read-ahead thread.

The raw store (`frames.u8`, memory-mapped) costs H x W x 3 bytes a frame: 2.76 GB for 100,000
frames at 128x72, 670 GB for an hour of 1080p. Above `ProxyConfig.raw_limit_bytes` (or with
`analyze --store proxy`) the analysis writes `frames.proxy` instead (`precompute.video_io.
ProxyWriter`): a key frame every `gop` frames, so any frame is at most gop - 1 decodes away.

Play reads it through `ProxyFrames`, which answers `frames[i]` like the (T, H, W, 3) uint8
array of the raw store. The chain's path is random but drawn ahead of time
(`engine.playback.Playback.upcoming`): the player hands the next second of it to `prefetch`, and
a worker thread decodes those frames (runs of consecutive frames in one go, each jump's target
from its key frame) into the cache before they are shown. A frame that is not there yet (a
setting changed the path) is decoded on the spot, continuing the previous decode where it can.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from precompute.errors import ConfigError

__all__ = ["ProxyConfig", "ProxyFrames", "STORE_KINDS", "choose_store", "is_frame_store"]

STORE_KINDS = ("auto", "raw", "proxy")


@dataclass(frozen=True, kw_only=True)
class ProxyConfig:
    """How the proxy store is encoded and read."""

    crf: int = 18  # x264 constant quality (0 lossless .. 51); 18 is visually lossless. On the
    #   noisy synthetic 128x72 clip: mean error ~1.5 levels, a third of its H.264 source's size.
    gop: int = 8  # frames per key frame: a jump decodes at most gop - 1 frames before its target;
    #   larger is smaller on disk (P-frames are cheap), slower to seek.
    preset: str = "ultrafast"  # x264 speed: the encode runs beside the decode of the analysis
    #   (~5,000 frames/s at 128x72 on 2 cores); slower presets are ~20% smaller, 3x slower.
    raw_limit_bytes: int = 2 * 1024**3  # --store auto: a raw store above this becomes a proxy
    cache_bytes: int = 256 * 1024**2  # decoded frames kept (at least `min_cache_frames`)
    min_cache_frames: int = 96  # ~3 s at 30 fps: the read-ahead (1 s) and the fades' past

    def __post_init__(self):
        if not 0 <= self.crf <= 51:
            raise ConfigError(f"proxy crf must be in 0..51, got {self.crf}")
        if not 1 <= self.gop <= 250:
            raise ConfigError(f"proxy gop must be in 1..250, got {self.gop}")
        if self.raw_limit_bytes < 0 or self.cache_bytes < 0 or self.min_cache_frames < 2:
            raise ConfigError("proxy sizes must be >= 0 (min_cache_frames >= 2)")


def choose_store(kind: str, *, frames: int, size: tuple[int, int],
                 config: ProxyConfig = ProxyConfig()) -> str:
    """"raw" or "proxy" for a store of `frames` frames at `size` (width, height). "auto": the
    proxy where the raw store would exceed `raw_limit_bytes` (frames may be an estimate)."""
    if kind not in STORE_KINDS:
        raise ConfigError(f"--store must be one of {', '.join(STORE_KINDS)}, got {kind!r}")
    if kind != "auto":
        return kind
    return "proxy" if frames * size[0] * size[1] * 3 > config.raw_limit_bytes else "raw"


def proxy_size(size: tuple[int, int]) -> tuple[int, int]:
    """The proxy's frame size for a display size: even sides (H.264 in yuv420p)."""
    return max(2, size[0] - size[0] % 2), max(2, size[1] - size[1] % 2)


def is_frame_store(frames) -> bool:
    """True for a store read by index that is not an ndarray (the proxy)."""
    return isinstance(frames, ProxyFrames)


class _Rows:
    """(T, H*W*3) rows of a ProxyFrames, as `frames.reshape(T, -1)` of an array."""

    def __init__(self, frames: "ProxyFrames"):
        self._frames = frames
        self.shape = (frames.shape[0], int(np.prod(frames.shape[1:])))
        self.dtype = frames.dtype

    def __getitem__(self, index):
        return self._frames[int(index)].reshape(-1)


class ProxyFrames:
    """(T, H, W, 3) uint8 frames of a proxy file, read like an array: `frames[i]` is a read-only
    (H, W, 3) array; slices and index arrays give stacked copies; `np.asarray(frames)` decodes
    them all (a whole long clip does not fit in memory: read by index).

    `prefetch(frames)` asks the worker thread to decode those frames (in that order) ahead of
    use; `wait_prefetched()` waits until it has. `hits` counts reads served from the cache,
    `misses` reads that had to decode on the spot."""

    ndim = 4
    dtype = np.dtype(np.uint8)

    def __init__(self, path: str | Path, offsets: np.ndarray, keys: np.ndarray,
                 shape: tuple[int, int, int, int], *, config: ProxyConfig = ProxyConfig()):
        n = int(shape[0])
        if offsets.shape != (n + 1,) or keys.shape != (n,) or not keys[:1].all() or \
                np.any(np.diff(offsets) <= 0) or offsets[0] != 0:
            raise ValueError("proxy index does not fit its frames")
        self.path = Path(path)
        self.shape = tuple(int(v) for v in shape)
        self.size = int(np.prod(self.shape))
        self.nbytes = self.size
        self.file_bytes = int(offsets[-1])
        self._offsets, self._keys = offsets, keys
        frame_bytes = int(np.prod(self.shape[1:]))
        self.capacity = max(config.min_cache_frames, config.cache_bytes // max(1, frame_bytes))
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # the cache
        self._read_lock = threading.Lock()  # the on-the-spot decoder
        self._reader = self._decoder()
        self._wanted: list[int] = []
        self._busy = False
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._error: BaseException | None = None
        self.hits = 0
        self.misses = 0

    def _decoder(self):
        from precompute.video_io import ProxyDecoder

        return ProxyDecoder(self.path, self._offsets, self._keys, (self.shape[2], self.shape[1]))

    # ------------------------------------------------------------------ array-like reads
    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self._frame(int(key))
        if isinstance(key, slice):
            return self._stack(range(*key.indices(self.shape[0])))
        if isinstance(key, tuple):  # frames[i, rows, cols]: the frame, then the rest
            return self[key[0]][key[1:]]
        indices = np.asarray(key)
        if indices.dtype == np.bool_:
            indices = np.flatnonzero(indices)
        return self._stack(indices.reshape(-1)).reshape(indices.shape + self.shape[1:])

    def _stack(self, indices) -> np.ndarray:
        out = np.empty((len(indices),) + self.shape[1:], np.uint8)
        for k, index in enumerate(indices):
            out[k] = self._frame(int(index))
        return out

    def __array__(self, dtype=None, copy=None):
        out = np.empty(self.shape, np.uint8)
        with self._read_lock:
            for start in range(0, self.shape[0], 256):
                stop = min(self.shape[0], start + 256)
                out[start:stop] = self._reader.frames(start, stop)
        return out if dtype is None else out.astype(dtype)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], tuple):
            shape = shape[0]
        if len(shape) == 2 and shape[0] == self.shape[0] and shape[1] in (-1, self.size // self.shape[0]):
            return _Rows(self)
        raise ValueError(f"a proxy store reshapes only to ({self.shape[0]}, -1), got {shape}")

    def _frame(self, index: int) -> np.ndarray:
        n = self.shape[0]
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"frame {index} is outside 0..{n - 1}")
        with self._lock:
            frame = self._cache.get(index)
            if frame is not None:
                self._cache.move_to_end(index)
                self.hits += 1
                return frame
            self.misses += 1
        with self._read_lock:
            frame = self._reader.frames(index, index + 1)[0]
        self._keep({index: frame})
        return frame

    def _keep(self, frames: dict) -> None:
        with self._lock:
            for index, frame in frames.items():
                frame.flags.writeable = False
                self._cache[index] = frame
                self._cache.move_to_end(index)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)

    def cached(self, index: int) -> bool:
        with self._lock:
            return index in self._cache

    # ------------------------------------------------------------------ read-ahead
    def prefetch(self, frames) -> None:
        """Decode these frames (path order) on the worker thread before they are read. A new
        call replaces what the previous one still had to do."""
        if self._closed:
            return
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        with self._lock:
            wanted = [int(f) for f in frames if int(f) not in self._cache]
        wanted = list(dict.fromkeys(wanted))[: self.capacity // 2]  # the cache keeps them
        with self._wake:
            self._wanted = wanted
            if self._thread is None:
                # the thread holds the store only weakly: a store nobody uses any more is
                # collected, and its thread ends (close() ends it at once)
                self._thread = threading.Thread(target=_read_ahead, args=(weakref.ref(self),),
                                                name="proxy-read-ahead", daemon=True)
                self._thread.start()
            self._wake.notify()

    def wait_prefetched(self, timeout: float = 30.0) -> bool:
        """Wait until the worker has decoded what was asked (True), or `timeout` seconds."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._wanted and not self._busy, timeout)

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._reader.close()

    def __del__(self):
        try:
            with self._wake:
                self._closed = True
                self._wake.notify_all()
            self._reader.close()
        except Exception:  # interpreter shutdown
            pass


def _read_ahead(store_ref) -> None:
    """The read-ahead worker of a ProxyFrames (held weakly): decode what `prefetch` asked for."""
    store = store_ref()
    if store is None:
        return
    decoder = store._decoder()
    wake = store._wake
    del store
    try:
        while True:
            with wake:
                while True:
                    store = store_ref()
                    if store is None or store._closed:
                        return
                    if store._wanted:
                        break
                    del store
                    wake.wait(timeout=1.0)
                wanted, store._wanted = store._wanted, []
                store._busy = True
            try:
                for start, stop in _runs(wanted):
                    store._keep(dict(zip(range(start, stop), decoder.frames(start, stop))))
                    with wake:
                        if store._wanted or store._closed:  # a newer path: follow it
                            break
            except Exception as error:  # said on the next prefetch, in the player's thread
                store._error = error
            finally:
                with wake:
                    store._busy = False
                    wake.notify_all()
                del store
    finally:
        decoder.close()


def _runs(frames: list[int]):
    """(start, stop) runs of consecutive frames, in the order first asked."""
    runs = []
    for frame in frames:
        if runs and frame == runs[-1][1]:
            runs[-1][1] += 1
        else:
            runs.append([frame, frame + 1])
    return [(a, b) for a, b in runs]

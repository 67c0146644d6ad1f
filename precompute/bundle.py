"""The saved analysis: a folder with manifest.json, analysis.npz and the frame store: frames.u8
(raw uint8 frames) or frames.proxy (short-GOP H.264 with its index in analysis.npz, for long
clips: precompute/frame_store.py).

Written to a temporary folder beside the target and renamed into place, so a crash never leaves
half an analysis. Loading checks the format version, every file's size and hash, and (when the
clip is at hand) that the clip is still the one analysed. Nothing is unpickled.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from precompute.config import AnalysisConfig
from precompute.errors import AnalysisError, ClipError

__all__ = ["Analysis", "FORMAT", "FORMAT_VERSION", "READABLE_VERSIONS", "STORE", "PROXY", "save_analysis",
           "load_analysis", "is_analysis", "source_identity", "ARRAY_KEYS", "sha256_file", "ClipAudio",
           "load_audio", "audio_note"]

FORMAT = "framechain-analysis"
FORMAT_VERSION = 3  # 2: `playable` frames, and links that form one closed class on them;
#   3: the clip's sound (manifest "audio", file audio.s16; issue 18) and the manifest's store says
#   its kind ("raw" or "proxy"; issue 17). Version 2 (raw store, no sound) loads, played silent.
READABLE_VERSIONS = (2, 3)
AUDIO_FILE = "audio.s16"  # raw interleaved stereo int16 PCM, little-endian, sha256 in "files"
MANIFEST = "manifest.json"
ARRAYS = "analysis.npz"
STORE = "frames.u8"
PROXY = "frames.proxy"  # the proxy store; its index: PROXY_ARRAYS in analysis.npz
PROXY_ARRAYS = ("proxy_offsets", "proxy_keys")
STORE_FILES = {"raw": STORE, "proxy": PROXY}
# arrays every analysis holds (see docs/ARCHITECTURE.md)
ARRAY_KEYS = ("link_offsets", "link_targets", "link_visual_costs", "link_future_costs",
              "link_probabilities", "future_value", "natural_steps", "loop_sources",
              "loop_targets", "loop_costs", "preview_distances", "preview_filtered", "playable")
_SAMPLE_BYTES = 1 << 20  # analyses made before issue 16 hashed the store on 8 samples of 1 MiB
STORE_HASH = "xxh3_128"  # the manifest's "store_hash": the frame store's hash covers every byte,
#   taken while the decoder writes it (no extra pass). xxh3 runs at ~16 GB/s where sha256 runs at
#   1.3, which kept hashing under 5% of the analysis (benchmarks/bench_safety.py); it guards
#   against damage and edits of the store, as a hash recorded beside it can (sha256 would not
#   stop anyone who can also rewrite the manifest). Absent: an older analysis, sampled sha256.
_MAX_FPS = 10000.0  # a manifest's fps above this is damage, not a clip


@dataclass(frozen=True, eq=False)
class Analysis:
    """A loaded video-texture analysis. Arrays are read-only; frames are memory-mapped."""

    path: Path
    config: AnalysisConfig
    source: dict  # path, size_bytes, sha256, frames, fps, width, height
    fps: float
    n_frames: int
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB, display resolution: the raw store memory-mapped,
    #   or a precompute.frame_store.ProxyFrames read like it
    arrays: dict = field(repr=False)  # name -> read-only ndarray (ARRAY_KEYS and extras)
    stats: dict = field(default_factory=dict)
    manifest: dict = field(default_factory=dict, repr=False)

    def __getattr__(self, name):  # analysis.link_targets etc.
        arrays = self.__dict__.get("arrays", {})
        if name in arrays:
            return arrays[name]
        raise AttributeError(name)

    @property
    def n_links(self) -> int:
        return int(self.arrays["link_targets"].shape[0])

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the frame store."""
        return int(self.frames.shape[2]), int(self.frames.shape[1])

    @property
    def store_kind(self) -> str:
        """"raw" (frames.u8) or "proxy" (frames.proxy)."""
        return self.manifest.get("store", {}).get("kind", "raw")

    @property
    def store_bytes(self) -> int:
        """Size of the frame store file on disk."""
        return int((self.path / STORE_FILES[self.store_kind]).stat().st_size)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    """The sha256 hex digest of a file, read in 4 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def store_hasher():
    """A new hasher of the frame store: `.update(bytes)`, `.hexdigest()` (32 hex digits)."""
    import xxhash

    return xxhash.xxh3_128()


def hash_store_file(path: str | os.PathLike, chunk: int = 1 << 24) -> str:
    """The frame store's whole-file hash (STORE_HASH), read in 16 MiB chunks."""
    h = store_hasher()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _sampled_hash(path: Path) -> str:
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        for k in range(8):
            f.seek(max(0, (size - _SAMPLE_BYTES) * k // 7))
            h.update(f.read(_SAMPLE_BYTES))
    return h.hexdigest()


def source_identity(path: str | os.PathLike) -> dict:
    """Size, modification time and sha256 of a clip file, or of an image folder's files."""
    from precompute.files import check_input

    p = check_input(path)  # hashing a FIFO or /dev/zero would block or never end
    if p.is_dir():
        h = hashlib.sha256()
        size = 0
        for child in sorted(c for c in p.iterdir() if c.is_file()):  # a FIFO is not is_file
            h.update(child.name.encode())
            h.update(sha256_file(child).encode())
            size += child.stat().st_size
        mtime = max((c.stat().st_mtime for c in p.iterdir()), default=0.0)
        return {"path": str(p.resolve()), "size_bytes": size, "mtime": mtime, "sha256": h.hexdigest()}
    st = p.stat()
    return {"path": str(p.resolve()), "size_bytes": st.st_size, "mtime": st.st_mtime,
            "sha256": sha256_file(p)}


def is_analysis(path: str | os.PathLike) -> bool:
    return (Path(path) / MANIFEST).is_file()


def save_analysis(out: str | os.PathLike, *, config: AnalysisConfig, source: dict, fps: float,
                  arrays: dict, store_file: str | os.PathLike, store_shape: tuple,
                  stats: dict, extra_files: dict | None = None, store_digest: str | None = None,
                  audio=None, store_kind: str = "raw", store_settings: dict | None = None) -> Path:
    """Write an analysis folder atomically. `store_file` is moved into it: raw uint8 frames, or
    with `store_kind="proxy"` the proxy file, whose index must be in `arrays` (PROXY_ARRAYS);
    `store_settings` (the proxy's codec settings) go into the manifest's store entry.

    `store_digest`: the store's hash (`store_hasher`), taken while it was written (else it is
    read once more). `audio`: the clip's sound (precompute.video_io.DecodedAudio) or None.
    An existing `out` is replaced only if it is empty or an analysis framechain wrote
    (precompute.files.replace_folder): a folder of the user's is never emptied."""
    from precompute.files import ordinary_mode, replace_folder, temp_folder, write_text

    out = Path(out)
    required = ARRAY_KEYS + (PROXY_ARRAYS if store_kind == "proxy" else ())
    missing = [k for k in required if k not in arrays]
    if missing:
        raise ValueError(f"analysis arrays missing {missing}")
    if store_kind not in STORE_FILES:
        raise ValueError(f"store_kind must be 'raw' or 'proxy', got {store_kind!r}")
    store_name = STORE_FILES[store_kind]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_folder(out)
    try:
        np.savez(tmp / ARRAYS, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})
        shutil.move(str(store_file), tmp / store_name)
        ordinary_mode(tmp / store_name, folder=False)
        files = {ARRAYS: sha256_file(tmp / ARRAYS),
                 store_name: store_digest or hash_store_file(tmp / store_name)}
        for name, src in (extra_files or {}).items():
            shutil.copyfile(src, tmp / name)
            files[name] = sha256_file(tmp / name)
        audio_entry = _save_audio(tmp, audio, files)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "config": config.to_dict(),
            "source": source,
            "fps": float(fps),
            "n_frames": int(store_shape[0]),
            "store": {"kind": store_kind, "file": store_name, "frames": int(store_shape[0]),
                      "height": int(store_shape[1]), "width": int(store_shape[2]),
                      "bytes": int((tmp / store_name).stat().st_size), **(store_settings or {})},
            "files": files,
            "store_hash": STORE_HASH,
            "stats": stats,
            "audio": audio_entry,
        }
        write_text(tmp / MANIFEST, json.dumps(manifest, indent=1))
        replace_folder(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _refuse(path: Path, why: str) -> AnalysisError:
    return AnalysisError(f"{path}: {why}; delete it and run `framechain analyze` on the clip again")


def load_analysis(path: str | os.PathLike, *, clip: str | os.PathLike | None = None,
                  check_source: bool = True, check_store: bool = True) -> Analysis:
    """Load and check an analysis folder.

    Refuses (AnalysisError): a missing or unreadable manifest, another format or a newer version,
    a missing, truncated or tampered file (the frame store's hash covers every byte; only the
    writer, which hashed it as it wrote it, passes `check_store=False`), a manifest field of
    the wrong type or range, and, with `clip` given (or the recorded clip still in place and
    `check_source`), a clip that is not the one analysed.
    """
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise AnalysisError(f"{path}: not a framechain analysis (no {MANIFEST}); "
                            "run `framechain analyze CLIP -o FOLDER` to make one")
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        raise _refuse(path, f"{MANIFEST} is unreadable ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse(path, f"{MANIFEST} is not a {FORMAT} manifest")
    version = manifest.get("format_version")
    if version not in READABLE_VERSIONS:
        raise _refuse(path, f"format version {version!r}, this framechain reads versions "
                      f"{', '.join(map(str, READABLE_VERSIONS))}")
    config, shape, files = _check_manifest(path, manifest)
    _check_audio_entry(path, manifest)
    kind = manifest["store"].get("kind", "raw")
    store_name = STORE_FILES[kind]
    if kind == "raw" and (path / STORE).stat().st_size != int(np.prod(shape)):
        raise _refuse(path, f"{STORE} has the wrong size for {shape}")
    full_store_hash = manifest.get("store_hash") == STORE_HASH
    for name, digest in files.items():
        file = path / name
        if name == store_name and not check_store:  # hashed while it was written, just now
            continue
        if name == store_name:
            actual = hash_store_file(file) if full_store_hash else _sampled_hash(file)
        else:
            actual = sha256_file(file)
        if actual != digest:
            raise _refuse(path, f"{name} does not match its recorded hash (changed or truncated)")
    source = manifest.get("source", {})
    if clip is not None:
        _check_clip(path, source, Path(clip), strict=True)
    elif check_source and source.get("path") and Path(source["path"]).exists():
        _check_clip(path, source, Path(source["path"]), strict=True)
    try:
        with np.load(path / ARRAYS, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError) as error:
        raise _refuse(path, f"{ARRAYS} is unreadable ({error})") from None
    missing = [k for k in ARRAY_KEYS + (PROXY_ARRAYS if kind == "proxy" else ()) if k not in arrays]
    if missing:
        raise _refuse(path, f"{ARRAYS} lacks {missing}")
    _check_links(path, arrays, shape[0])
    from precompute.graph import check_link_graph

    try:  # the no-trap invariant holds for every analysis that is played
        check_link_graph(arrays["link_offsets"], arrays["link_targets"],
                         arrays["link_probabilities"], arrays["playable"])
    except (AnalysisError, ValueError, IndexError) as error:
        raise _refuse(path, f"its link graph is unsound ({error})") from None
    for array in arrays.values():
        array.flags.writeable = False
    if kind == "proxy":
        frames = _proxy_frames(path, arrays, shape)
    else:
        frames = np.memmap(path / STORE, dtype=np.uint8, mode="r", shape=shape)
    return Analysis(path=path, config=config, source=source, fps=float(manifest["fps"]),
                    n_frames=int(manifest["n_frames"]), frames=frames, arrays=arrays,
                    stats=manifest.get("stats", {}), manifest=manifest)


def _save_audio(folder: Path, audio, files: dict) -> dict:
    """Write the clip's sound beside the analysis; returns the manifest's "audio" entry."""
    if audio is None:
        return {"file": None, "note": "the sound was not decoded"}
    if audio.samples is None:
        return {"file": None, "note": audio.note, "source": audio.source}
    samples = np.ascontiguousarray(audio.samples, dtype="<i2")  # (S, 2) interleaved
    with open(folder / AUDIO_FILE, "wb") as out:
        out.write(samples.data)
    from precompute.files import ordinary_mode

    ordinary_mode(folder / AUDIO_FILE, folder=False)
    files[AUDIO_FILE] = sha256_file(folder / AUDIO_FILE)  # ~11 MB a minute: hashed in ms
    return {"file": AUDIO_FILE, "rate": int(audio.rate), "channels": int(samples.shape[1]),
            "samples": int(samples.shape[0]), "sample_format": "s16le", "source": audio.source,
            "note": audio.note}


def _check_audio_entry(path: Path, manifest: dict) -> None:
    entry = manifest.get("audio")
    if entry is None:
        return
    if not isinstance(entry, dict):
        raise _refuse(path, f"{MANIFEST} field audio is {entry!r}, which is not valid")
    if entry.get("file") is None:
        return
    ok = (entry.get("file") == AUDIO_FILE and AUDIO_FILE in manifest.get("files", {})
          and _is_int(entry.get("rate"), 1) and entry.get("channels") == 2
          and _is_int(entry.get("samples"), 1))
    if not ok:
        raise _refuse(path, f"{MANIFEST} field audio is not valid")
    if (path / AUDIO_FILE).stat().st_size != entry["samples"] * entry["channels"] * 2:
        raise _refuse(path, f"{AUDIO_FILE} has the wrong size for {entry['samples']} samples")


@dataclass(frozen=True)
class ClipAudio:
    """The sound of an analysed clip: frame i's span is samples
    [round(i * rate / fps), round((i + 1) * rate / fps))."""

    samples: np.ndarray  # (S, 2) int16 stereo, memory-mapped, read-only
    rate: int  # Hz
    source: dict  # what the clip carried: codec, rate, channels, layout


def load_audio(analysis: Analysis) -> ClipAudio | None:
    """The analysis' sound (checked with the rest when it was loaded), or None: silent."""
    entry = analysis.manifest.get("audio")
    if not isinstance(entry, dict) or entry.get("file") is None:
        return None
    samples = np.memmap(Path(analysis.path) / AUDIO_FILE, dtype="<i2", mode="r",
                        shape=(entry["samples"], entry["channels"]))
    return ClipAudio(samples, int(entry["rate"]), dict(entry.get("source") or {}))


def audio_note(analysis: Analysis) -> str:
    """One line on the analysis' sound, for `info` and for commands that play it silent."""
    entry = analysis.manifest.get("audio")
    if analysis.manifest.get("format_version", FORMAT_VERSION) < 3 or entry is None:
        return ("none: the analysis predates sound (format version "
                f"{analysis.manifest.get('format_version')}); analyze the clip again to add it")
    if entry.get("file") is None:
        return f"none: {entry.get('note') or 'the clip has no audio track'}"
    source = entry.get("source") or {}
    seconds = entry["samples"] / entry["rate"]
    text = (f"{entry['rate']} Hz stereo, {seconds:.2f} s (from {source.get('codec', '?')} "
            f"{source.get('rate', '?')} Hz {source.get('layout') or str(source.get('channels', '?')) + ' ch'})")
    return text + (f"; {entry['note']}" if entry.get("note") else "")
def _proxy_frames(path: Path, arrays: dict, shape: tuple):
    """The proxy store of a loaded analysis, its index checked against the file."""
    from precompute.frame_store import ProxyFrames

    offsets = np.asarray(arrays["proxy_offsets"], np.int64)
    keys = np.asarray(arrays["proxy_keys"], np.bool_)
    if offsets.shape != (shape[0] + 1,) or keys.shape != (shape[0],) or \
            int(offsets[-1]) != (path / PROXY).stat().st_size:
        raise _refuse(path, f"{ARRAYS}'s proxy index does not fit {PROXY}")
    try:
        return ProxyFrames(path / PROXY, offsets, keys, shape)
    except ValueError as error:
        raise _refuse(path, f"{ARRAYS}'s proxy index is not valid ({error})") from None


def _is_int(value, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _check_manifest(path: Path, manifest: dict):
    """Field by field: types and ranges of what loading relies on. Returns (config, store
    shape (T, H, W, 3), files {name: sha256})."""
    import math

    def need(ok: bool, field: str, value) -> None:
        if not ok:
            raise _refuse(path, f"{MANIFEST} field {field} is {value!r}, which is not valid")

    fps = manifest.get("fps")
    need(isinstance(fps, (int, float)) and not isinstance(fps, bool) and math.isfinite(fps)
         and 0 < fps <= _MAX_FPS, "fps", fps)
    store = manifest.get("store")
    need(isinstance(store, dict), "store", store)
    for key in ("frames", "height", "width"):
        need(_is_int(store.get(key), 1), f"store.{key}", store.get(key))
    need(isinstance(store.get("kind", "raw"), str) and store.get("kind", "raw") in STORE_FILES,
         "store.kind", store.get("kind"))
    store_name = STORE_FILES.get(store.get("kind", "raw"), STORE)
    need(store.get("file", STORE) == store_name, "store.file", store.get("file"))
    n_frames = manifest.get("n_frames")
    need(_is_int(n_frames, 2) and n_frames == store["frames"], "n_frames", n_frames)
    files = manifest.get("files")
    need(isinstance(files, dict) and ARRAYS in files and store_name in files, "files", files)
    for name, digest in files.items():
        need(isinstance(name, str) and "/" not in name and name not in ("", ".", ".."),
             "files", name)
        need(isinstance(digest, str) and len(digest) in (32, 64), f"files.{name}", digest)
        if not (path / name).is_file():
            raise _refuse(path, f"{name} is missing")
    for key in ("source", "stats", "config"):
        need(isinstance(manifest.get(key, {}), dict), key, manifest.get(key))
    try:
        config = AnalysisConfig.from_dict(manifest["config"])
    except (KeyError, TypeError, ValueError) as error:
        raise _refuse(path, f"{MANIFEST} field config is not valid ({error})") from None
    return config, (store["frames"], store["height"], store["width"], 3), files


def _check_links(path: Path, arrays: dict, n_frames: int) -> None:
    """The link arrays index the frame store: offsets (N+1,) rising from 0 to nnz, targets in
    0..N-1. A damaged file would otherwise index out of the store during play."""
    offsets, targets = arrays["link_offsets"], arrays["link_targets"]
    ok = (offsets.shape == (n_frames + 1,) and targets.ndim == 1 and offsets[0] == 0
          and offsets[-1] == targets.shape[0] and bool(np.all(np.diff(offsets) >= 0))
          and (targets.size == 0 or (int(targets.min()) >= 0 and int(targets.max()) < n_frames)))
    for key in ("link_visual_costs", "link_future_costs", "link_probabilities"):
        ok = ok and arrays[key].shape == targets.shape
    if not ok:
        raise _refuse(path, f"{ARRAYS}'s links do not fit its {n_frames} frames")


def _check_clip(path: Path, source: dict, clip: Path, *, strict: bool) -> None:
    if not clip.exists():
        raise ClipError(f"{clip}: no such file or folder")
    st_size = sum(c.stat().st_size for c in clip.iterdir() if c.is_file()) if clip.is_dir() else clip.stat().st_size
    if st_size == source.get("size_bytes") and not clip.is_dir() and \
            clip.stat().st_mtime == source.get("mtime"):
        return  # unchanged since analysed: skip re-hashing
    if st_size != source.get("size_bytes") or source_identity(clip)["sha256"] != source.get("sha256"):
        raise AnalysisError(f"{path}: made from another clip than {clip} (or the clip changed since); "
                            f"run `framechain analyze {clip}` again")


# --- flows for the morph transition: a sidecar of the analysis folder, computed once ---
FLOWS_FILE = "flows.npz"
FLOWS_MANIFEST = "flows.json"
FLOWS_FORMAT_VERSION = 1


def save_flows(analysis: Analysis, flows, settings: dict) -> Path:
    """Store LinkFlows beside an analysis (atomically), tied to its links by their hash."""
    folder = Path(analysis.path)
    from precompute.files import ordinary_mode, write_text

    fd, tmp = tempfile.mkstemp(prefix=".flows.", suffix=".tmp.npz", dir=folder)
    os.close(fd)
    try:
        np.savez(tmp, sources=flows.sources, targets=flows.targets, flows=flows.flows,
                 scale=np.float64(flows.scale), frame_size=np.asarray(flows.frame_size, np.int64))
        ordinary_mode(tmp, folder=False)  # mkstemp's 0600 would hide it from other users
        digest = sha256_file(Path(tmp))
        os.replace(tmp, folder / FLOWS_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    manifest = {"format": "framechain-flows", "format_version": FLOWS_FORMAT_VERSION,
                "analysis_sha256": analysis.manifest["files"][ARRAYS], "settings": settings,
                "sha256": digest}
    write_text(folder / FLOWS_MANIFEST, json.dumps(manifest, indent=1))
    return folder / FLOWS_FILE


def load_flows(analysis: Analysis, settings: dict):
    """The stored LinkFlows for these links and settings, or None (absent, stale or damaged)."""
    from precompute.flows import LinkFlows

    folder = Path(analysis.path)
    try:
        manifest = json.loads((folder / FLOWS_MANIFEST).read_text())
        if (manifest.get("format_version") != FLOWS_FORMAT_VERSION
                or manifest.get("analysis_sha256") != analysis.manifest["files"][ARRAYS]
                or manifest.get("settings") != settings
                or sha256_file(folder / FLOWS_FILE) != manifest.get("sha256")):
            return None
        with np.load(folder / FLOWS_FILE, allow_pickle=False) as data:
            return LinkFlows(sources=data["sources"], targets=data["targets"], flows=data["flows"],
                             scale=float(data["scale"]), frame_size=tuple(int(v) for v in data["frame_size"]))
    except (OSError, ValueError, KeyError):
        return None

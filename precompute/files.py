"""Where framechain meets the user's files: one policy for every input it reads and every output
it writes (issue 16: nothing a user owns is ever lost).

Inputs: only regular files and folders are read. A FIFO, a device (/dev/zero) or a socket is
refused at once: reading one blocks forever or never ends.

Outputs (`OutputPlan`, checked before any work starts, so a bad `--log` fails in the first
second, not after a long export):
- never onto an input of the same command, nor onto another output of it (same resolved path
  or same inode), nor into an input folder, nor a folder output that holds an input;
- an existing file is replaced only if framechain made it (`made_by_framechain`: a JSON file with
  a "framechain-..." format, a video tagged by our writer) or with `--force`;
- an existing folder is replaced only if it is empty or framechain made all of it (a manifest of
  ours and nothing else but what we write beside it); a folder holding anything else is never
  emptied, `--force` or not;
- the parent folder must exist, be a folder and be writable; the suffix must be one we write.

Writes go to a temporary file or folder in the same folder and are renamed into place
(`write_text`, `temp_folder` + `replace_folder`), with ordinary permissions: 0644 files, 0755
folders (less what the umask takes away), not tempfile's private 0600/0700.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from precompute.errors import ClipError, ConfigError, ExportError

__all__ = ["check_input", "OutputPlan", "made_by_framechain", "tag_file", "write_text", "write_json",
           "temp_folder", "replace_folder", "ordinary_mode", "os_error_message", "FORMAT_PREFIX",
           "VIDEO_TAG"]

FORMAT_PREFIX = "framechain-"  # every JSON file and manifest we write says "format": "framechain-..."
VIDEO_TAG = "made by framechain"  # the "comment" of the mp4/webm files we write, a comment block
#   of our GIFs, a "Software" text chunk of our PNGs (`tag_file`)
_JSON_SNIFF_BYTES = 64 << 20  # a JSON file larger than this is not read to see whether it is ours
# files framechain writes inside the folders it makes, besides the manifest's own list
_OWN_FOLDER_NAMES = {"manifest.json", "analysis.npz", "frames.u8", "flows.npz", "flows.json",
                     "bridges", "sprite.npz", "control.npz", "model.pt", "model.json"}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def ordinary_mode(path: str | os.PathLike, *, folder: bool | None = None) -> None:
    """Give a file 0644 or a folder 0755 (less the umask): what `open()` and `mkdir()` give,
    where tempfile gives 0600/0700."""
    is_folder = Path(path).is_dir() if folder is None else folder
    os.chmod(path, (0o777 if is_folder else 0o666) & ~_umask())


def os_error_message(error: OSError) -> str:
    """A short reason for an OSError: "no space left on device", "permission denied"."""
    if error.errno == errno.ENOSPC:
        return "no space left on device"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied (read-only folder?)"
    return (error.strerror or str(error)).lower()


# --- inputs ----------------------------------------------------------------------------------
def check_input(path: str | os.PathLike, *, what: str = "", hint: str = "give a video file, "
                "GIF or image folder") -> Path:
    """`path` if it is a regular file or a folder; else ClipError naming it. `what` (a flag such
    as "--targets") prefixes the message."""
    path = Path(path)
    name = f"{what} {path}" if what else str(path)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ClipError(f"{name}: no such file or folder; check the path") from None
    except OSError as error:
        raise ClipError(f"{name}: cannot read it ({os_error_message(error)})") from None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return path
    kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file")
    raise ClipError(f"{name}: {kind}, not a file or folder; {hint}")


def _identity(path: Path):
    """(device, inode) of an existing path, else its resolved absolute path."""
    try:
        st = path.stat()
        return (st.st_dev, st.st_ino)
    except OSError:
        return str(path.resolve())


def _within(inner: Path, outer: Path) -> bool:
    inner, outer = inner.resolve(), outer.resolve()
    return inner == outer or outer in inner.parents


# --- what framechain made ----------------------------------------------------------------------
def _json_is_ours(path: Path) -> bool:
    try:
        if path.stat().st_size > _JSON_SNIFF_BYTES:
            return False
        with open(path, "rb") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and str(data.get("format", "")).startswith(FORMAT_PREFIX)


def _video_is_ours(path: Path) -> bool:
    if path.suffix.lower() not in (".mp4", ".m4v", ".webm", ".mkv", ".mov"):
        return False
    try:
        import av

        with av.open(str(path)) as container:
            tags = {key.lower(): value for key, value in container.metadata.items()}
            return tags.get("comment", "") == VIDEO_TAG
    except Exception:  # not readable as a video at all: not ours
        return False


def _folder_is_ours(path: Path) -> bool:
    names = {child.name for child in path.iterdir()}
    if not names:
        return True  # an empty folder holds nothing to lose
    manifest = path / "manifest.json"
    if not _json_is_ours(manifest):
        return False
    data = json.loads(manifest.read_text())
    listed = set(data.get("files", {}))
    # what we write has sub-folders: an analysis its "bridges", a sprite set its sprites
    folders = {"bridges"} | {n for n in data.get("folders", []) if isinstance(n, str)}
    for name in names:
        child = path / name
        if child.is_dir() and not child.is_symlink():
            if name not in folders or not _folder_is_ours(child):
                return False
        # our temporary files (".flows.*.tmp.npz" while a sidecar is written) are ours too
        elif not (name in _OWN_FOLDER_NAMES or name in listed
                  or name.startswith(".") and ".tmp" in name):
            return False
    return True


def made_by_framechain(path: str | os.PathLike) -> bool:
    """Whether an existing file or folder was written by framechain (so it may be replaced)."""
    path = Path(path)
    if path.is_dir():
        return _folder_is_ours(path)
    if not path.is_file():
        return False
    if path.suffix.lower() == ".json":
        return _json_is_ours(path)
    if path.suffix.lower() in (".png", ".apng"):
        return _png_is_ours(path)
    if path.suffix.lower() == ".gif":
        return _gif_is_ours(path)
    return _video_is_ours(path)


def tag_file(path: str | os.PathLike, kind: str) -> None:
    """Mark a finished GIF ("gif") or PNG/APNG ("apng") as ours, in place (FFmpeg's muxers for
    these write no metadata): a GIF comment extension after the global colour table, or a PNG
    "Software" tEXt chunk after IHDR. Both are ignored by every viewer."""
    import struct
    import zlib

    path = Path(path)
    data = path.read_bytes()
    if kind == "gif" and data[:6] in (b"GIF87a", b"GIF89a"):
        packed = data[10]
        table = 3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0
        at = 13 + table  # header 6 + logical screen descriptor 7 + global colour table
        text = VIDEO_TAG.encode()
        block = b"\x21\xfe" + bytes([len(text)]) + text + b"\x00"
        data = b"GIF89a" + data[6:at] + block + data[at:]
    elif kind == "apng" and data[:8] == b"\x89PNG\r\n\x1a\n":
        at = 8 + 8 + struct.unpack(">I", data[8:12])[0] + 4  # signature + the IHDR chunk
        body = b"tEXt" + b"Software\x00" + VIDEO_TAG.encode()
        chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
        data = data[:at] + chunk + data[at:]
    else:
        return
    path.write_bytes(data)


def _gif_is_ours(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(13 + 768 + 64)
    except OSError:
        return False
    return head[:3] == b"GIF" and b"\x21\xfe" + bytes([len(VIDEO_TAG)]) + VIDEO_TAG.encode() in head


def _png_is_ours(path: Path) -> bool:
    """A PNG whose text chunks (before the image data) say "Software: made by framechain"."""
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    if not head.startswith(b"\x89PNG"):
        return False
    return b"Software\x00" + VIDEO_TAG.encode() in head.split(b"IDAT", 1)[0]


# --- the plan: every output of a command, checked before work ---------------------------------
@dataclass
class _Output:
    flag: str
    path: Path
    kind: str  # "file", "folder" (ours, with a manifest) or "video" (a file or a PNG folder)
    suffixes: tuple


class OutputPlan:
    """The inputs and outputs of one command, checked together before any work starts.

        plan = OutputPlan(inputs=[args.clip], force=args.force)
        plan.add("-o", args.output, kind="file", suffixes=(".png",))
        plan.add("--log", args.log, kind="file", suffixes=(".json",))
        plan.check()  # ExportError / ConfigError naming the flag and the path

    kind "file": one file; "folder": a folder framechain fills (analysis, sprite); "video": a
    file, or a folder of numbered PNGs when the path has no suffix, ends in "/" or is a folder.
    """

    def __init__(self, *, inputs=(), force: bool = False):
        self.inputs = [Path(p) for p in inputs if p is not None]
        self.force = bool(force)
        self.outputs: list[_Output] = []

    def add(self, flag: str, path, *, kind: str = "file", suffixes=()) -> "OutputPlan":
        if path is not None:
            if str(path) == "":
                raise ConfigError(f"{flag}: the path is empty; give a file name")
            if kind == "video" and (str(path).endswith(("/", os.sep)) or Path(path).is_dir()):
                kind = "frames"  # a folder of numbered PNGs (precompute.video_io.writer_kind)
            self.outputs.append(_Output(flag, Path(path), kind, tuple(s.lower() for s in suffixes)))
        return self

    def check(self) -> None:
        seen = {}
        inputs = [(p, _identity(p)) for p in self.inputs if p.exists()]
        for out in self.outputs:
            for other in self.outputs:  # a folder output is replaced whole: nothing else inside
                if other is not out and other.kind in ("folder", "frames") and \
                        out.path.resolve() != other.path.resolve() and _within(out.path, other.path):
                    raise ConfigError(f"{out.flag} {out.path}: inside the output folder of "
                                      f"{other.flag} {other.path}; give each output its own place")
            self._check_one(out, inputs)
            key = _identity(out.path) if out.path.exists() else str(out.path.resolve())
            if key in seen:
                raise ConfigError(f"{out.flag} {out.path}: the same path as {seen[key]}; give each "
                                  "output its own path")
            seen[key] = f"{out.flag} {out.path}"

    def _check_one(self, out: _Output, inputs) -> None:
        name = f"{out.flag} {out.path}"
        folder_like = out.kind in ("folder", "frames") or (out.kind == "video" and out.path.suffix == "")
        if out.suffixes and not folder_like and out.path.suffix.lower() not in out.suffixes:
            raise ConfigError(f"{name}: unknown output type {out.path.suffix or '(none)'!r}; "
                              f"use {', '.join(out.suffixes)}")
        for ancestor in [out.path.parent, *out.path.parent.parents]:
            if ancestor.exists() and not ancestor.is_dir():
                raise ExportError(f"{name}: {ancestor} is a file, not a folder; choose another path")
            if ancestor.exists():
                break
        parent = out.path.parent
        if not parent.is_dir():
            raise ExportError(f"{name}: the folder {parent} does not exist; create it or choose "
                              "another path (nothing was written)")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ExportError(f"{name}: the folder {parent} is not writable; choose another path "
                              "(nothing was written)")
        exists = out.path.exists() or out.path.is_symlink()
        identity = _identity(out.path)
        for source, source_identity in inputs:
            if exists and identity == source_identity:
                raise ExportError(f"{name}: that is an input of this command ({source}); writing "
                                  "there would destroy it: choose another path")
            if folder_like and _within(source, out.path):
                raise ExportError(f"{name}: the folder holds an input of this command ({source}); "
                                  "choose another path")
            if source.is_dir() and _within(out.path, source):  # an analysis, an image folder
                raise ExportError(f"{name}: inside the input folder {source}, whose files are "
                                  "part of the input; choose another path")
        if not exists:
            return
        if folder_like:
            if not out.path.is_dir():
                raise ExportError(f"{name}: exists and is not a folder; choose another path")
            if out.kind in ("video", "frames"):
                return  # the PNG writer itself refuses a folder with other files in it
            if not _folder_is_ours(out.path):
                raise ExportError(f"{name}: the folder holds files framechain did not write; "
                                  "give a new or empty folder (nothing was changed)")
            return
        if out.path.is_dir():
            raise ExportError(f"{name}: is a folder; give a file name")
        if not stat.S_ISREG(out.path.stat().st_mode):
            raise ExportError(f"{name}: exists and is not a regular file; choose another path")
        if not self.force and not made_by_framechain(out.path):
            raise ExportError(f"{name}: exists and was not written by framechain; pass --force to "
                              "replace it, or choose another path")


# --- writing -------------------------------------------------------------------------------------
def write_text(path: str | os.PathLike, text: str, *, what: str = "") -> Path:
    """Write `text` to a temporary file beside `path` (0644) and rename it onto `path`. An error
    (a full disk, a read-only folder) is one ExportError line and leaves nothing behind."""
    path = Path(path)
    name = f"{what} {path}" if what else str(path)
    temp = None
    try:
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        ordinary_mode(temp, folder=False)
        os.replace(temp, path)
    except OSError as error:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise ExportError(f"{name}: cannot write it ({os_error_message(error)}); nothing was "
                          "written") from None
    return path


def write_json(path: str | os.PathLike, payload, *, what: str = "", **dump) -> Path:
    """`write_text` of JSON. Non-finite numbers are refused (JSON has no Infinity or NaN)."""
    try:
        text = json.dumps(payload, allow_nan=False, **dump)
    except ValueError:
        raise ExportError(f"{what + ' ' if what else ''}{path}: the data holds an infinite or "
                          "NaN number, which JSON cannot hold; nothing was written") from None
    return write_text(path, text, what=what)


def temp_folder(target: str | os.PathLike) -> Path:
    """A new folder (0755) beside `target`, to fill and then `replace_folder` onto it."""
    target = Path(target)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    ordinary_mode(temp, folder=True)
    return temp


def replace_folder(temp: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Rename the finished `temp` folder onto `target`. An existing target is replaced only when
    it is empty or wholly framechain's; otherwise ExportError, and `temp` is removed."""
    temp, target = Path(temp), Path(target)
    if target.exists() or target.is_symlink():
        if not target.is_dir() or target.is_symlink() or not _folder_is_ours(target):
            shutil.rmtree(temp, ignore_errors=True)
            raise ExportError(f"{target}: exists and holds files framechain did not write; give "
                              "a new or empty folder (nothing was changed)")
        old = target.with_name(f".{target.name}.old-{os.getpid()}.tmp")
        target.rename(old)
        try:
            temp.rename(target)
        except BaseException:
            old.rename(target)
            raise
        shutil.rmtree(old, ignore_errors=True)  # all of it ours: checked above
    else:
        temp.rename(target)
    return target

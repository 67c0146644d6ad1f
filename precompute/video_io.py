"""Reading and writing video: the one module that imports PyAV (`av`).

Decoding streams frames as `(H, W, 3) uint8` RGB, once, in order, from every container FFmpeg
reads (mp4, mov, mkv, webm, avi, mpeg, animated GIF, ...) and from a folder of numbered PNG/JPEG
images. The frame count is the number of frames actually decoded: container headers are hints
only (edit lists and header-less MPEG streams say otherwise). The picture's decode ignores audio;
`decode_audio` reads it in a pass of its own (issue 18, at the end of this module).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from precompute.errors import ClipError

__all__ = ["ClipInfo", "ClipReader", "DecodedFrame", "open_clip", "decode_clip", "IMAGE_SUFFIXES", "DEFAULT_FOLDER_FPS"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
DEFAULT_FOLDER_FPS = 30.0  # an image folder carries no rate; --fps overrides


@dataclass(frozen=True)
class ClipInfo:
    """What is known of a clip before decoding it. `frame_count_hint` may be wrong or 0."""

    path: str
    kind: str  # "video" (anything FFmpeg demuxes, GIF included) or "images" (a folder)
    width: int
    height: int
    fps: float
    frame_count_hint: int


def _natural_key(name: str):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _image_files(folder: Path) -> list[Path]:
    names = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES),
                   key=lambda p: _natural_key(p.name))
    if not names:
        raise ClipError(f"{folder}: the folder holds no PNG or JPEG images; "
                        "give a video file or a folder of numbered images")
    return names


def _read_image(path: Path) -> np.ndarray:
    import cv2

    from precompute.files import check_input

    check_input(path, hint="replace or remove it")  # a FIFO named 0001.png would block

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # (H, W, 3) BGR uint8, or None
    if image is None:
        raise ClipError(f"{path}: not a readable PNG/JPEG image; replace or remove it")
    return np.ascontiguousarray(image[:, :, ::-1])  # BGR -> RGB


def full_chroma(picture) -> bool:
    """True when a decoded picture (DecodedFrame.picture) has colour at full resolution."""
    if picture is None:
        return True  # an image: RGB
    planes = picture.planes
    return len(planes) < 3 or (planes[1].width == picture.width and planes[1].height == picture.height)


@dataclass(frozen=True)
class DecodedFrame:
    """One decoded frame (`ClipReader.decoded`): `rgb` (H, W, 3) uint8 at the clip's size;
    `display` (h, w, 3) uint8 RGB at the display size (None when only `picture` was asked for);
    `picture` the decoder's picture at the display size, for `ProxyWriter.write_picture` (None
    for image folders and unless asked for)."""

    rgb: np.ndarray
    display: np.ndarray | None
    picture: object | None


class _Converter:
    """FFmpeg's scaler (swscale) with one context kept for the whole clip. PyAV's
    `frame.to_ndarray(format=...)` makes a new context for every frame, which cost 0.3 ms a
    frame: 6x the decoding of a 128x72 clip (issue 17); one kept context costs ~0.01 ms."""

    def __init__(self):
        from av.video.reformatter import VideoReformatter

        self._reformatter = VideoReformatter()

    def rgb_picture(self, picture):
        """The picture converted to RGB at its own size, as an av.VideoFrame (FFmpeg's memory)."""
        return self._reformatter.reformat(picture, format="rgb24")

    def rgb(self, picture, size: tuple[int, int] | None = None) -> np.ndarray:
        """(h, w, 3) uint8 RGB of an av.VideoFrame, at `size` (width, height; area-scaled) or its own."""
        if size is None or size == (picture.width, picture.height):
            # same conversion (bilinear chroma, threads 0) as frame.to_ndarray(format="rgb24")
            out = self._reformatter.reformat(picture, format="rgb24")
        else:
            out = self._reformatter.reformat(picture, width=size[0], height=size[1],
                                             format="rgb24", interpolation="AREA")
        return out.to_ndarray()

    def scaled(self, picture, size: tuple[int, int], format: str):
        """An av.VideoFrame at `size` (width, height) in `format`, area-scaled."""
        return self._reformatter.reformat(picture, width=size[0], height=size[1], format=format,
                                          interpolation="AREA")


class ClipReader:
    """A clip opened for one streaming pass. Iterate it for `(H, W, 3) uint8` RGB frames.

    Use as a context manager, or call `close()`. Counting what it yields is the frame count.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float | None = None,
                 allow_truncated: bool = False):
        from precompute.files import check_input

        self.path = Path(path)
        self._container = None
        self._images: list[Path] | None = None
        self.allow_truncated = bool(allow_truncated)
        self.notes: list[str] = []  # what the user should hear: frames dropped, a variable rate
        if fps is not None and not (0 < fps < float("inf")):
            raise ClipError(f"--input-fps must be a positive number, got {fps}")
        check_input(self.path)  # a FIFO or a device would block or never end
        if self.path.is_dir():
            self._images = _image_files(self.path)
            first = _read_image(self._images[0])
            self.info = ClipInfo(str(self.path), "images", first.shape[1], first.shape[0],
                                 float(fps or DEFAULT_FOLDER_FPS), len(self._images))
            return
        if self.path.stat().st_size == 0:
            raise ClipError(f"{self.path}: the file is empty; give a video file or an image folder")
        import av

        try:
            self._container = av.open(str(self.path))
        except av.FFmpegError as error:
            raise ClipError(f"{self.path}: not a video FFmpeg can read ({error.strerror or error}); "
                            "check that the file is a complete video") from None
        if not self._container.streams.video:
            self._container.close()
            raise ClipError(f"{self.path}: the file has no video stream (audio only?); give a video")
        stream = self._container.streams.video[0]
        stream.thread_type = "AUTO"  # frame and slice threads: decoding is the analysis' floor
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        clip_fps = float(fps or (float(rate) if rate else DEFAULT_FOLDER_FPS))
        width = int(stream.codec_context.width or 0)
        height = int(stream.codec_context.height or 0)
        count = int(stream.frames or 0)
        if not count and self._container.duration:  # webm/mkv list no frames: from the duration
            count = int(round(self._container.duration / 1e6 * clip_fps))
        self.info = ClipInfo(str(self.path), "video", width, height, clip_fps, count)

    def __iter__(self) -> Iterator[np.ndarray]:
        if self._images is not None:
            yield from self._iter_images()
        else:
            yield from self._iter_video()

    def _iter_images(self) -> Iterator[np.ndarray]:
        size = None
        for path in self._images:
            image = _read_image(path)
            if size is None:
                size = image.shape
            elif image.shape != size:
                raise ClipError(f"{path}: {image.shape[1]}x{image.shape[0]} differs from the first "
                                f"image's {size[1]}x{size[0]}; all images of a clip must be one size")
            yield image

    def _iter_video(self) -> Iterator[np.ndarray]:
        rgb = _Converter()
        for picture in self._pictures():
            yield rgb.rgb(picture)  # (H, W, 3) uint8, a new array per frame

    def decoded(self, display_size: tuple[int, int] | None = None, *,
                pictures: bool = False) -> Iterator["DecodedFrame"]:
        """Stream the clip as `DecodedFrame`s: the full-size RGB frame (for features) and the
        frame at `display_size` (width, height; None: the clip's size), scaled by FFmpeg from
        the decoded picture (area), never from the RGB frame. `pictures`: the display frame is
        also kept as the decoder's own picture (`DecodedFrame.picture`), which `ProxyWriter`
        encodes without any conversion to RGB and back; `display` is then None unless it is
        the RGB frame itself. The frame count and the damage checks are those of iteration."""
        if self._images is not None:
            import cv2

            for image in self._iter_images():
                display = image
                if display_size is not None and display_size != (image.shape[1], image.shape[0]):
                    display = cv2.resize(image, display_size, interpolation=cv2.INTER_AREA)
                yield DecodedFrame(image, display, None)
            return
        full_rgb, scaled = _Converter(), _Converter()
        for picture in self._pictures():
            rgb_picture = full_rgb.rgb_picture(picture)
            rgb = rgb_picture.to_ndarray()  # (H, W, 3): the features are block means of it
            same = display_size is None or display_size == (picture.width, picture.height)
            if pictures:  # the proxy's encoder takes the picture as it is (no RGB on the way)
                small = picture if same else scaled.scaled(picture, display_size,
                                                           picture.format.name)
                yield DecodedFrame(rgb, rgb if same else None, small)
            else:  # area-scaled from the RGB picture: a picture's half-size chroma scaled on
                #   its own would differ from the RGB frame's by ~15 levels on fine colour detail
                yield DecodedFrame(rgb, rgb if same else scaled.rgb(rgb_picture, display_size), None)

    def _pictures(self):
        """Demux and decode packet by packet; yields the decoder's pictures (av.VideoFrame).
        Frame-threaded decoding does not raise on a
        damaged packet (it drops frames silently), so damage is also read from the demuxer:
        a packet flagged corrupt, or fewer packets than an mp4/mov index lists (a file cut
        short). Either is an error, or with allow_truncated a note of the frames kept."""
        import av

        stream = self._container.streams.video[0]
        decoded = packets = corrupt = 0
        times = []  # presentation times of the frames, seconds: a variable rate shows here
        problem = None
        try:
            for packet in self._container.demux(stream):
                if packet.size:
                    packets += 1
                    corrupt += bool(packet.is_corrupt)
                for frame in packet.decode():
                    decoded += 1
                    if frame.time is not None:
                        times.append(frame.time)
                    yield frame
        except av.FFmpegError as error:
            problem = f"damaged after {decoded} frames ({error.strerror or error})"
        listed = int(stream.frames or 0)
        if problem is None and corrupt:
            problem = f"{corrupt} damaged packet{'s' if corrupt > 1 else ''}"
        if problem is None and listed and packets < listed and \
                self._container.format.name.startswith("mov"):  # the mp4/mov index is exact
            problem = f"cut short: {packets} of the {listed} frames its index lists are there"
        if problem is None and times and len(self._container.streams) == 1 and \
                "matroska" in self._container.format.name:  # a GIF's last delay may be long
            problem = self._cut_short(times)
        if problem is not None:
            if not self.allow_truncated:
                raise ClipError(f"{self.path}: {problem}; re-encode or trim the file, or pass "
                                "--allow-truncated to use the frames that decode")
            self.notes.append(f"{self.path}: {problem}; kept the {decoded} frames that decoded "
                              "(--allow-truncated)")
        self._note_variable_rate(times)

    def _cut_short(self, times: list) -> str | None:
        """A container without an index of frames (webm, mkv) still states its duration: video
        that ends well before it was cut short. Only for a file of one stream: a longer audio
        track makes a container longer than its video without any damage."""
        duration_s = (self._container.duration or 0) / 1e6  # AV_TIME_BASE: microseconds
        step_s = 1.0 / self.info.fps
        shown_s = times[-1] - times[0] + step_s
        if duration_s and shown_s < duration_s - max(2 * step_s, 0.1):
            return (f"cut short: its frames cover {shown_s:.2f} s of the {duration_s:.2f} s its "
                    "header states")
        return None

    def _note_variable_rate(self, times: list) -> None:
        """Say plainly when frame durations vary (by more than a quarter of the median): the
        clip is played at one constant rate, so its timing changes."""
        if len(times) < 3:
            return
        durations = np.diff(np.asarray(times, np.float64))  # (T-1,) seconds
        durations = durations[durations > 0]
        if durations.size < 2:
            return
        median = float(np.median(durations))
        if np.all(np.abs(durations - median) <= 0.25 * median):
            return
        self.notes.append(f"{self.path}: variable frame rate (frame durations "
                          f"{durations.min() * 1000:.0f}-{durations.max() * 1000:.0f} ms); played at "
                          f"a constant {self.info.fps:g} fps, so its timing changes")

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> "ClipReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_clip(path: str | os.PathLike, *, fps: float | None = None,
              allow_truncated: bool = False) -> ClipReader:
    """Open a clip (video file, animated GIF or image folder) for one streaming pass.

    A damaged or cut-short video raises ClipError; with `allow_truncated` the frames that decode
    are kept and `reader.notes` says how many (and a variable frame rate is noted there too)."""
    return ClipReader(path, fps=fps, allow_truncated=allow_truncated)


def decode_clip(path: str | os.PathLike, *, fps: float | None = None,
                max_frames: int | None = None, allow_truncated: bool = False
                ) -> tuple[np.ndarray, ClipInfo]:
    """Decode a whole (small) clip into memory: `(T, H, W, 3) uint8` and its ClipInfo.

    For long clips use `open_clip` and stream; this holds every frame at full size.
    """
    frames = []
    with open_clip(path, fps=fps, allow_truncated=allow_truncated) as reader:
        for frame in reader:
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
        info = reader.info
        say_notes(reader.notes)
    if not frames:
        raise ClipError(f"{path}: no frame could be decoded; check that the file is a video")
    return np.stack(frames), info


def say_notes(notes) -> None:
    """Print a reader's notes (frames dropped, a variable rate) as warnings on stderr."""
    import sys

    for note in notes:
        print(f"framechain: warning: {note}", file=sys.stderr)


# --- encoding (written by the export work, issue 4) ---
#
# Writers by the target's extension, all through one streaming API:
#     with open_writer("out.mp4", fps=30, size=(w, h)) as writer:
#         writer.write(frame)  # (h, w, 3) uint8 RGB, or (h, w, 4) RGBA when alpha=True
# Everything is written to a temporary file (or folder) beside the target and renamed onto it only
# when complete: an error, or Ctrl-C, leaves no partial file (ExportError's message says so).

import fractions
import shutil
import tempfile

from precompute.errors import ExportError

__all__ += ["EncodeConfig", "VideoWriter", "AvWriter", "open_writer", "write_frames",
            "writer_kind", "writer_class", "register_writer", "WRITER_SUFFIXES", "QUALITY_PRESETS"]

WRITER_SUFFIXES: dict[str, str] = {}  # suffix -> kind of every registered writer (below):
#   .mp4 .m4v mp4, .webm webm, .gif gif, .png .apng apng; anything without a suffix: a folder


@dataclass(frozen=True, kw_only=True)
class EncodeConfig:
    """Encoder settings per format. The defaults aim at "looks like the source" at web sizes."""

    h264_crf: int = 18  # x264 constant quality, 0 (lossless) .. 51; 18 is visually lossless,
    #   +6 halves the size.
    h264_preset: str = "medium"  # x264 speed/size trade-off: "veryfast" encodes ~3x faster,
    #   files ~20% larger; "slow" the other way.
    vp9_crf: int = 31  # libvpx-vp9 constant quality, 0..63 (with bitrate 0); lower is better.
    vp9_cpu_used: int = 4  # libvpx speed, 0 (slowest, best) .. 8; 4 is a sane realtime-ish pick.
    gif_dither: str = "bayer"  # paletteuse dither: "bayer" is an ordered pattern that stays put
    #   from frame to frame (no crawling noise at the loop point); "sierra2_4a" or "none".
    gif_bayer_scale: int = 3  # 0..5: larger makes the bayer pattern less visible, banding more.
    gif_max_colors: int = 256  # palette size, 2..256 (one is reserved for transparency with alpha).
    png_compression: int = 3  # zlib level 0..9 for PNG folders: 3 is fast and near the best size.

    def __post_init__(self):
        from precompute.errors import ConfigError

        if not 0 <= self.h264_crf <= 51:
            raise ConfigError(f"h264_crf must be in 0..51, got {self.h264_crf}")
        if not 0 <= self.vp9_crf <= 63:
            raise ConfigError(f"vp9_crf must be in 0..63, got {self.vp9_crf}")
        if not 2 <= self.gif_max_colors <= 256:
            raise ConfigError(f"gif_max_colors must be in 2..256, got {self.gif_max_colors}")
        if not 0 <= self.png_compression <= 9:
            raise ConfigError(f"png_compression must be in 0..9, got {self.png_compression}")


def writer_kind(path: str | os.PathLike) -> str:
    """"mp4", "webm", "gif", "apng", "folder" (no suffix, a trailing "/", or an existing folder),
    or the kind of a writer registered for the suffix (`register_writer`)."""
    return writer_class(path).KIND


def writer_class(path: str | os.PathLike) -> type:
    """The registered writer class for `path`'s suffix (a folder of PNGs without one)."""
    _discover_writers()
    text = os.fspath(path)
    path = Path(path)
    if path.is_dir() or text.endswith(("/", os.sep)) or path.suffix == "":
        return PngFolderWriter
    cls = _WRITERS.get(path.suffix.lower())
    if cls is None:
        builtin = [".mp4", ".webm", ".gif", ".png"]
        others = sorted(set(_WRITERS) - set(builtin) - {".m4v", ".apng"})
        listed = ", ".join(builtin + others)
        raise ExportError(f"{path}: unknown output type {path.suffix!r}; use {listed} (.png: "
                          "animated PNG) or a folder name (numbered PNGs)")
    return cls


_WRITERS: dict[str, type] = {}  # suffix -> writer class
_writers_discovered = False


def register_writer(cls: type, *, replace: bool = False) -> type:
    """Add an export format: a VideoWriter subclass with SUFFIXES (".mkv", ...) and KIND. Every
    suffix then picks it in `open_writer`, `framechain export -o` and recordings; no other edit.
    Usable as a class decorator. A module in precompute/formats/ is found and imported on first
    use, so a new format is one new file there."""
    if not (isinstance(cls, type) and issubclass(cls, VideoWriter) and cls.SUFFIXES and cls.KIND):
        raise ExportError(f"register_writer takes a VideoWriter subclass with SUFFIXES and KIND, "
                          f"got {cls!r}")
    for suffix in cls.SUFFIXES:
        suffix = suffix.lower()
        if not suffix.startswith(".") or len(suffix) < 2:
            raise ExportError(f"{cls.__name__}: a suffix must look like '.mkv', got {suffix!r}")
        if suffix in _WRITERS and _WRITERS[suffix] is not cls and not replace:
            raise ExportError(f"{suffix} is written by {_WRITERS[suffix].__name__} already; "
                              "pass replace=True to replace it")
        _WRITERS[suffix] = cls
        WRITER_SUFFIXES[suffix] = cls.KIND
    return cls


def _discover_writers() -> None:
    global _writers_discovered
    if _writers_discovered:
        return
    _writers_discovered = True
    import importlib
    import pkgutil

    import precompute.formats as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{info.name}")


def _fps_fraction(fps: float) -> fractions.Fraction:
    # 29.97 -> 30000/1001: containers want an exact rational rate
    return fractions.Fraction(float(fps)).limit_denominator(1001)


def _ffmpeg_message(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


class VideoWriter:
    """A file being written, frame by frame. Use `open_writer`; see the module comment.

    One subclass per format, registered by suffix (`register_writer`): it says what it keeps
    (class attributes) and how it opens, writes and finishes; this base class does the checks,
    the temporary file beside the target and its rename, and the clean-up on any error.
    `VideoWriter(path, ...)` itself returns the writer registered for the path's suffix.

    `size` is the frames' (width, height). `alpha=True` takes RGBA frames: .webm (VP9 yuva420p),
    .png (APNG) and folders keep the alpha; .gif keeps it as 1-bit transparency; .mp4 refuses it.
    """

    SUFFIXES: tuple[str, ...] = ()  # the target suffixes this writer is picked for
    KIND: str = ""  # its short name ("mp4", "gif", ...)
    NO_ALPHA: str | None = None  # why RGBA frames are refused (None: alpha is kept)
    MAX_FPS: tuple[float, str] | None = None  # (highest rate, why) where the format limits it
    AUDIO_CODEC: str | None = None  # FFmpeg audio encoder (issue 18); None: the format is silent

    def __new__(cls, path, *args, **kwargs):
        if cls is VideoWriter:
            cls = writer_class(path)
        return super().__new__(cls)

    def __init__(self, path: str | os.PathLike, *, fps: float, size: tuple[int, int],
                 alpha: bool = False, config: EncodeConfig = EncodeConfig(),
                 audio_rate: int | None = None):
        self.path = Path(path)
        self.kind = self.KIND
        # sound beside the frames (issue 18): stereo int16 at audio_rate, through write_audio;
        # a format without AUDIO_CODEC ignores it (the caller asks `has_audio`)
        self.audio_rate = int(audio_rate) if audio_rate and self.AUDIO_CODEC else None
        self.samples_written = 0
        self._audio_stream = None
        self._audio_continuation = None  # sound that would follow the end (set_audio_continuation)
        self._audio_recent = np.zeros((0, 2), np.int16)  # the last samples written: their mirror
        #   continues the sound when nothing else is given
        self._audio_held = None  # the newest encoded sound packet, muxed when the next comes
        self._audio_pending = np.zeros((0, 2), np.int16)  # AAC: samples short of a whole block
        self._audio_sent = 0  # samples given to the encoder
        self.fps = float(fps)
        self.width, self.height = (int(v) for v in size)
        self.alpha = bool(alpha)
        self.config = config
        self.frames_written = 0
        self._closed = False
        self._container = None
        self._stream = None
        if not (self.fps > 0):
            raise ExportError(f"{self.path}: fps must be positive, got {fps}")
        if self.MAX_FPS is not None and self.fps > self.MAX_FPS[0]:
            raise ExportError(f"{self.path}: {self.MAX_FPS[1]}, got {fps:g}")
        if self.width < 1 or self.height < 1:
            raise ExportError(f"{self.path}: frame size must be positive, got {size}")
        if self.alpha and self.NO_ALPHA:
            raise ExportError(f"{self.path}: {self.NO_ALPHA}")
        parent = self.path.parent
        if not parent.is_dir():
            raise ExportError(f"{self.path}: the folder {parent} does not exist; create it or "
                              "choose another output path (nothing was written)")
        self._check_target()
        self._temp = parent / f".{self.path.name.rstrip(os.sep) or 'frames'}.part-{os.getpid()}" \
                              f"{self._temp_suffix()}"
        try:
            self._open()
        except BaseException as error:
            self._remove_temp()
            if isinstance(error, (OSError, _av_errors())) and not isinstance(error, ExportError):
                raise ExportError(f"{self.path}: cannot write here ({_ffmpeg_message(error)}); "
                                  "check the folder is writable and has space (nothing was written)"
                                  ) from None
            raise

    # --- what a format defines -----------------------------------------------------------------
    def _check_target(self) -> None:
        """Refuse a target this format cannot replace (before anything is written)."""

    def _temp_suffix(self) -> str:
        return self.path.suffix

    def _open(self) -> None:
        """Create self._temp (a file or a folder) ready for frames."""
        raise NotImplementedError

    def _write_frame(self, frame: np.ndarray) -> None:
        """Append one checked, contiguous frame, (H, W, 3 or 4) uint8."""
        raise NotImplementedError

    def _clear_target(self) -> None:
        """Make way for the finished temporary file (a folder of our PNGs is removed first)."""

    def _finish(self) -> None:
        """Complete self._temp once every frame is in (flush encoders, write trailers)."""

    # --- writing -----------------------------------------------------------------------------
    def write(self, frame: np.ndarray) -> None:
        """Append one frame, (H, W, 3) uint8 RGB, or (H, W, 4) RGBA if opened with alpha."""
        if self._closed:
            raise ExportError(f"{self.path}: the writer is closed; open a new one")
        channels = 4 if self.alpha else 3
        if (not isinstance(frame, np.ndarray) or frame.dtype != np.uint8
                or frame.shape != (self.height, self.width, channels)):
            shape = getattr(frame, "shape", None)
            dtype = getattr(frame, "dtype", type(frame).__name__)
            self.abort()
            raise ExportError(f"{self.path}: frames must be ({self.height}, {self.width}, "
                              f"{channels}) uint8, got {shape} {dtype}; no partial file was left")
        try:
            self._write(np.ascontiguousarray(frame))
        except BaseException as error:
            self.abort()
            raise self._wrap(error) from None
        self.frames_written += 1

    @property
    def has_audio(self) -> bool:
        """The file gets a sound track (an mp4 or webm opened with audio_rate)."""
        return self.audio_rate is not None

    def write_audio(self, samples: np.ndarray) -> None:
        """Append sound, (n, 2) int16 stereo at audio_rate (issue 18). Write it beside the frames
        (per frame or per block) so that the muxer interleaves without holding much."""
        if not self.has_audio:
            raise ExportError(f"{self.path}: this writer was opened without sound")
        samples = np.asarray(samples)
        if samples.ndim != 2 or samples.shape[1] != 2 or samples.dtype != np.int16:
            self.abort()
            raise ExportError(f"{self.path}: sound must be (n, 2) int16, got {samples.shape} "
                              f"{samples.dtype}; no partial file was left")
        if samples.shape[0] == 0:
            return
        try:
            self._write_audio(np.ascontiguousarray(samples))
        except BaseException as error:
            self.abort()
            raise self._wrap(error) from None
        self.samples_written += int(samples.shape[0])
        self._audio_recent = np.concatenate([self._audio_recent, samples])[-4096:]

    def set_audio_continuation(self, samples: np.ndarray) -> None:
        """The sound that would follow the last sample written, (n, 2) int16: a loop's start, so
        that the codec's last block is filled with what the wrap plays. Without it, the mirror of
        the last samples written (continuous, so no step either)."""
        self._audio_continuation = np.ascontiguousarray(np.asarray(samples, np.int16))

    def _audio_tail(self, count: int) -> np.ndarray:
        """`count` samples to fill the codec's last block (see AvWriter._flush_audio)."""
        given = self._audio_continuation
        if given is not None and given.shape[0] >= count:
            return given[:count]
        recent = self._audio_recent[::-1]
        if recent.shape[0] == 0:
            return np.zeros((count, 2), np.int16)
        return np.resize(recent, (count, 2)) if recent.shape[0] < count else recent[:count]

    def _write_audio(self, samples: np.ndarray) -> None:
        raise NotImplementedError

    # --- finishing ---------------------------------------------------------------------------
    def close(self) -> Path:
        """Finish the file and move it onto the target path. Returns the path."""
        if self._closed:
            return self.path
        try:
            if self.frames_written == 0:
                raise ExportError(f"{self.path}: no frames were written; nothing to save")
            self._finish()
            self._replace_target()
        except BaseException as error:
            self.abort()
            raise self._wrap(error) from None
        self._closed = True
        return self.path

    def _write(self, frame: np.ndarray) -> None:
        self._write_frame(frame)

    def _replace_target(self) -> None:
        if self.KIND in ("gif", "apng"):  # so that framechain knows it may replace this file
            from precompute.files import tag_file

            tag_file(self._temp, self.KIND)
        self._clear_target()
        os.replace(self._temp, self.path)

    def abort(self) -> None:
        """Drop everything written so far: no file is left at the target or beside it."""
        self._closed = True
        if self._container is not None:
            try:
                self._container.close()
            except Exception:  # closing a broken container may fail again; the file goes anyway
                pass
            self._container = None
        self._release()
        self._remove_temp()

    def _release(self) -> None:
        """Free what the format holds besides the container (a spool file)."""

    def _remove_temp(self) -> None:
        temp = getattr(self, "_temp", None)
        if temp is None:
            return
        if temp.is_dir():
            shutil.rmtree(temp, ignore_errors=True)
        elif temp.exists():
            temp.unlink()

    def _wrap(self, error: BaseException) -> BaseException:
        if isinstance(error, ExportError) or not isinstance(error, (OSError, _av_errors())):
            return error  # KeyboardInterrupt and the like pass through unchanged
        return ExportError(f"{self.path}: writing failed after {self.frames_written} frames "
                           f"({_ffmpeg_message(error)}); no partial file was left")

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()


class AvWriter(VideoWriter):
    """A format FFmpeg encodes, declared by class attributes: a new one needs no `av` import.

        @register_writer
        class MkvWriter(AvWriter):
            SUFFIXES, KIND = (".mkv",), "mkv"
            CONTAINER, CODEC, PIX_FMT = "matroska", "ffv1", "bgr0"
    """

    CONTAINER: str = ""  # FFmpeg muxer name
    CODEC: str = ""  # FFmpeg encoder name
    PIX_FMT: str = "yuv420p"  # the encoder's pixel format for RGB frames
    PIX_FMT_ALPHA: str | None = None  # ... and for RGBA frames (None: NO_ALPHA must say why)
    CONTAINER_OPTIONS: dict = {}
    EVEN_SIZE: bool = False  # the pixel format halves the chroma: odd sides are padded
    AAC_BLOCK = 1024  # samples per AAC-LC frame (AUDIO_CODEC "aac")

    def codec_options(self) -> dict:
        """Encoder options (strings), from self.config."""
        return {}

    def _open(self) -> None:
        import av

        rate = _fps_fraction(self.fps)
        self._container = av.open(str(self._temp), "w", format=self.CONTAINER,
                                  options=dict(self.CONTAINER_OPTIONS) or None)
        if self.KIND in ("mp4", "webm"):  # so that framechain knows it may replace this file
            from precompute.files import VIDEO_TAG

            self._container.metadata["comment"] = VIDEO_TAG
        self._stream = self._container.add_stream(self.CODEC, rate=rate,
                                                  options=self.codec_options() or None)
        self._stream.pix_fmt = self.PIX_FMT_ALPHA if self.alpha else self.PIX_FMT
        self._stream.width, self._stream.height = self._encoded_size()
        self._stream.time_base = self._time_base(rate)
        if self.audio_rate:
            self._open_audio()

    def _time_base(self, rate) -> fractions.Fraction:
        return fractions.Fraction(1, 1) / rate

    def _encoded_size(self) -> tuple[int, int]:
        if self.EVEN_SIZE:  # yuv420p: both sides even
            return self.width + self.width % 2, self.height + self.height % 2
        return self.width, self.height

    def _write_frame(self, frame: np.ndarray) -> None:
        if self.EVEN_SIZE and (self.width % 2 or self.height % 2):
            # (H, W, 3) -> (H + H%2, W + W%2, 3): repeat the last row/column
            frame = np.pad(frame, ((0, self.height % 2), (0, self.width % 2), (0, 0)), mode="edge")
        self._encode(self._video_frame(frame, self.frames_written))

    def _video_frame(self, frame: np.ndarray, index: int):
        import av

        video_frame = av.VideoFrame.from_ndarray(frame, format="rgba" if frame.shape[2] == 4 else "rgb24")
        video_frame.pts = index
        return video_frame

    def _encode(self, video_frame) -> None:
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)

    def _open_audio(self) -> None:
        # FFmpeg's "fast" AAC coder: 2.5x faster than its default two-loop search, which
        # would take ~15% of a small export; at 160 kb/s stereo the difference is not heard
        # on ambient sound. Opus at its default complexity (10) is as fast as that already.
        options = {"b": "160k", "aac_coder": "fast"} if self.AUDIO_CODEC == "aac" else {"b": "128k"}
        self._audio_stream = self._container.add_stream(self.AUDIO_CODEC, rate=self.audio_rate,
                                                        layout="stereo", options=options)
        self._audio_stream.time_base = fractions.Fraction(1, self.audio_rate)

    def _write_audio(self, samples: np.ndarray) -> None:
        if self.AUDIO_CODEC != "aac":
            self._encode_audio(samples)
            return
        # AAC: whole 1024-sample blocks only; what is left at the end is decided by _flush_audio
        pending = np.concatenate([self._audio_pending, samples]) if self._audio_pending.size else samples
        whole = pending.shape[0] // self.AAC_BLOCK * self.AAC_BLOCK
        if whole:
            self._encode_audio(pending[:whole])
        self._audio_pending = pending[whole:]

    def _encode_audio(self, samples: np.ndarray) -> None:
        import av

        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples).reshape(1, -1), format="s16",
                                           layout="stereo")
        frame.sample_rate = self.audio_rate
        frame.pts = self._audio_sent  # in 1/audio_rate: the sound's clock is its sample count
        frame.time_base = fractions.Fraction(1, self.audio_rate)
        self._audio_sent += int(samples.shape[0])
        for packet in self._audio_stream.encode(frame):  # PyAV cuts it to the codec's frame size
            self._mux_audio(packet)

    def _mux_audio(self, packet) -> None:
        """Mux the packet held before this one and hold this one: the last packet's duration is
        set at the end (_flush_audio)."""
        held, self._audio_held = self._audio_held, packet
        if held is not None:
            self._container.mux(held)

    def _flush_audio(self) -> None:
        """End the sound. AAC codes blocks of 1024 samples, and a decoder plays the last block
        whole (only the container's edit list says where the sound ends; PyAV and so
        quality.py ignore it). Padded with silence, as the encoder would, the sound drops to zero
        there: a click (1.7x a 3 kHz tone's largest step), and at 60 fps the decoded sound may run
        1.3 frames past the picture. So the sound ends at the block boundary nearest the
        picture's end: at least half a block left over is completed with the sound that would
        follow (a loop's start, else the mirror of the end) and the last packet's duration cut
        back by as much, so that the file states the exact length; less than half a block is
        dropped (at most 10.7 ms at 48 kHz). Either way the decoded sound is within half a block
        of the picture's length."""
        if self._audio_stream is None:
            return
        left = self._audio_pending.shape[0]
        pad = self.AAC_BLOCK - left if self.AUDIO_CODEC == "aac" and 2 * left >= self.AAC_BLOCK else 0
        if pad:
            self._encode_audio(np.concatenate([self._audio_pending, self._audio_tail(pad)]))
        self._audio_pending = self._audio_pending[:0]
        for packet in self._audio_stream.encode(None):
            self._mux_audio(packet)
        last, self._audio_held = self._audio_held, None
        if last is not None:
            if pad and last.duration and last.duration > pad:
                last.duration = int(last.duration) - pad
            self._container.mux(last)

    def _finish(self) -> None:
        self._encode(None)  # flush the encoder
        self._flush_audio()
        self._container.close()
        self._container = None


@register_writer
class Mp4Writer(AvWriter):
    """H.264 yuv420p at CRF 18, odd sizes padded, moov atom first (plays while downloading)."""

    SUFFIXES, KIND = (".mp4", ".m4v"), "mp4"
    NO_ALPHA = ("H.264 mp4 has no alpha channel; write RGBA frames to .webm (VP9 with alpha), "
                ".png (APNG) or a folder of PNGs")
    CONTAINER, CODEC, PIX_FMT, EVEN_SIZE = "mp4", "libx264", "yuv420p", True
    CONTAINER_OPTIONS = {"movflags": "+faststart"}
    AUDIO_CODEC = "aac"  # FFmpeg's own AAC-LC: every player decodes it

    def codec_options(self) -> dict:
        return {"crf": str(self.config.h264_crf), "preset": self.config.h264_preset}


@register_writer
class WebmWriter(AvWriter):
    """VP9 at constant quality, yuva420p with alpha."""

    SUFFIXES, KIND = (".webm",), "webm"
    CONTAINER, CODEC, PIX_FMT, PIX_FMT_ALPHA = "webm", "libvpx-vp9", "yuv420p", "yuva420p"
    AUDIO_CODEC = "libopus"  # webm's sound codec
    def codec_options(self) -> dict:
        return {"crf": str(self.config.vp9_crf), "b": "0",
                "cpu-used": str(self.config.vp9_cpu_used), "row-mt": "1"}


@register_writer
class ApngWriter(AvWriter):
    """Animated PNG, looping for ever, RGB or RGBA."""

    SUFFIXES, KIND = (".png", ".apng"), "apng"
    CONTAINER, CODEC, PIX_FMT, PIX_FMT_ALPHA = "apng", "apng", "rgb24", "rgba"
    CONTAINER_OPTIONS = {"plays": "0"}  # 0: loop forever


@register_writer
class GifWriter(AvWriter):
    """One global palette (palettegen over every frame, then paletteuse with an ordered dither),
    delays in 1/100 s; alpha as 1-bit transparency."""

    SUFFIXES, KIND = (".gif",), "gif"
    # GIF delays are whole 1/100 s and browsers slow delays under 2/100 s to 1/10 s
    MAX_FPS = (50.0, "GIF plays at most 50 fps in browsers; pass a lower --fps or write .mp4/.webm")
    CONTAINER, CODEC, PIX_FMT, PIX_FMT_ALPHA = "gif", "gif", "pal8", "pal8"

    def _open(self) -> None:
        # two passes for one global palette: frames are spooled raw, the palette is gathered on
        # the way (palettegen), and the file is encoded on close (paletteuse)
        self._spool = tempfile.TemporaryFile(dir=self.path.parent, prefix=".framechain-spool-")
        self._palette_graph = self._gif_palette_graph(_fps_fraction(self.fps))
        super()._open()

    def _time_base(self, rate) -> fractions.Fraction:
        return fractions.Fraction(1, 100)  # GIF delays are in 1/100 s

    def _gif_palette_graph(self, rate):
        import av.filter

        graph = av.filter.Graph()
        source = graph.add_buffer(width=self.width, height=self.height,
                                  format="rgba" if self.alpha else "rgb24", time_base=1 / rate)
        palettegen = graph.add("palettegen", f"max_colors={self.config.gif_max_colors}:"
                               f"stats_mode=full:reserve_transparent={int(self.alpha)}")
        sink = graph.add("buffersink")
        source.link_to(palettegen)
        palettegen.link_to(sink)
        graph.configure()
        return graph, source, sink

    def _write_frame(self, frame: np.ndarray) -> None:
        self._spool.write(frame.tobytes())
        self._palette_graph[1].push(self._video_frame(frame, self.frames_written))

    def _finish(self) -> None:
        import av
        import av.filter

        graph, source, sink = self._palette_graph
        source.push(None)
        palette = sink.pull()  # (16, 16) the global palette
        use = av.filter.Graph()
        frames_in = use.add_buffer(width=self.width, height=self.height,
                                   format="rgba" if self.alpha else "rgb24",
                                   time_base=fractions.Fraction(1, 100))
        palette_in = use.add_buffer(width=palette.width, height=palette.height,
                                    format=palette.format.name, time_base=fractions.Fraction(1, 100))
        dither = self.config.gif_dither
        options = f"dither={dither}" + (f":bayer_scale={self.config.gif_bayer_scale}"
                                        if dither == "bayer" else "")
        paletteuse = use.add("paletteuse", options + ":diff_mode=rectangle")
        sink = use.add("buffersink")
        frames_in.link_to(paletteuse, 0, 0)
        palette_in.link_to(paletteuse, 0, 1)
        paletteuse.link_to(sink)
        use.configure()
        palette.pts = 0
        palette_in.push(palette)
        palette_in.push(None)
        channels = 4 if self.alpha else 3
        frame_bytes = self.width * self.height * channels
        self._spool.seek(0)
        step = 100.0 / self.fps  # frame times in 1/100 s, rounded: the GIF clock
        for index in range(self.frames_written):
            raw = self._spool.read(frame_bytes)
            frame = np.frombuffer(raw, np.uint8).reshape(self.height, self.width, channels)  # (H, W, C)
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgba" if self.alpha else "rgb24")
            video_frame.pts = int(round(index * step))
            video_frame.time_base = fractions.Fraction(1, 100)
            frames_in.push(video_frame)
            self._drain(sink)
        frames_in.push(None)
        self._drain(sink)
        self._release()
        super()._finish()

    def _drain(self, sink) -> None:
        import av

        while True:
            try:
                frame = sink.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            self._encode(frame)

    def _release(self) -> None:
        spool, self._spool = getattr(self, "_spool", None), None
        if spool is not None:
            spool.close()


class PngFolderWriter(VideoWriter):
    """Numbered PNGs (frame_000000.png, ...) in a folder: a target without a suffix."""

    KIND = "folder"

    def _check_target(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise ExportError(f"{self.path}: exists and is not a folder; choose another output")
        if self.path.is_dir():
            foreign = [p.name for p in self.path.iterdir() if not _is_frame_png(p.name)]
            if foreign:
                raise ExportError(f"{self.path}: the folder holds other files ({foreign[0]}, ...); "
                                  "give an empty or new folder for numbered PNGs")

    def _temp_suffix(self) -> str:
        return ""

    def _open(self) -> None:
        self._temp.mkdir()

    def _write_frame(self, frame: np.ndarray) -> None:
        import cv2

        name = self._temp / f"frame_{self.frames_written:06d}.png"
        image = frame[:, :, [2, 1, 0, 3]] if frame.shape[2] == 4 else frame[:, :, ::-1]  # RGB(A) -> BGR(A)
        if not cv2.imwrite(str(name), image, [cv2.IMWRITE_PNG_COMPRESSION, self.config.png_compression]):
            raise OSError(f"could not write {name.name}")

    def _clear_target(self) -> None:
        if self.path.is_dir():
            shutil.rmtree(self.path)  # checked at open: only numbered PNGs of ours


def _av_errors():
    import av

    return av.FFmpegError


def _is_frame_png(name: str) -> bool:
    return re.fullmatch(r"frame_\d{6}\.png", name) is not None


QUALITY_PRESETS = {  # quality= shorthand -> EncodeConfig changes (None or "default": none)
    "high": {"h264_crf": 12, "vp9_crf": 15},  # near-lossless: for clips that will be analysed
    "default": {},
    "small": {"h264_crf": 26, "vp9_crf": 40},  # about a third of the default's size
}


def open_writer(path: str | os.PathLike, *, fps: float, size: tuple[int, int], alpha: bool = False,
                config: EncodeConfig = EncodeConfig(), quality: str | None = None,
                audio_rate: int | None = None) -> VideoWriter:
    """Open a writer chosen by the path's extension (.mp4, .webm, .gif, .png, or a folder).

    size: (width, height) of the frames; alpha: frames are (H, W, 4) RGBA; quality: None,
    "high", "default" or "small" (adjusts config's CRFs). Use it as a context manager: leaving
    the block normally renames the finished file onto `path`; an exception (Ctrl-C included)
    deletes it. Raises ExportError with a message naming the path.
    """
    if quality is not None:
        if quality not in QUALITY_PRESETS:
            raise ExportError(f"{path}: quality must be one of {sorted(QUALITY_PRESETS)}, got {quality!r}")
        import dataclasses

        config = dataclasses.replace(config, **QUALITY_PRESETS[quality])
    if audio_rate:  # issue 18: a sound track where the format has one (writer.has_audio)
        return writer_class(path)(path, fps=fps, size=size, alpha=alpha, config=config,
                                  audio_rate=audio_rate)
    return writer_class(path)(path, fps=fps, size=size, alpha=alpha, config=config)


def write_frames(path: str | os.PathLike, frames, *, fps: float, config: EncodeConfig = EncodeConfig(),
                 progress=None) -> Path:
    """Write a whole sequence, (T, H, W, 3) RGB or (T, H, W, 4) RGBA uint8 (an array or an
    iterable of frames). `progress` (optional) is called with the number of frames written."""
    iterator = iter(frames)
    try:
        first = next(iterator)
    except StopIteration:
        raise ExportError(f"{path}: no frames to write") from None
    first = np.asarray(first)
    if first.ndim != 3 or first.shape[2] not in (3, 4):
        raise ExportError(f"{path}: frames must be (H, W, 3) or (H, W, 4) uint8, got {first.shape}")
    with open_writer(path, fps=fps, size=(first.shape[1], first.shape[0]),
                     alpha=first.shape[2] == 4, config=config) as writer:
        writer.write(first)
        for frame in iterator:
            writer.write(frame)
            if progress is not None:
                progress(writer.frames_written)
    return writer.path


# --- live HLS (framechain serve) -------------------------------------------------------------
__all__ += ["HlsWriter"]


class HlsWriter:
    """A live HLS stream in `folder`: `index.m3u8` and a sliding window of H.264 MPEG-TS segments.

    FFmpeg's hls muxer cuts a segment at the first key frame after `segment_s`; key frames are
    forced every `segment_s` of pts so that segments have that length. Older segments are deleted
    as the window slides (disk stays bounded), and the playlist and each segment are written
    under a temporary name and renamed, so a reader never sees half a file. Frames are
    `(H, W, 3) uint8` RGB at `size` (width, height; even sides, as yuv420p needs) with `pts` in
    frame ticks of 1/fps: a gap in pts (a dropped tick) holds the previous picture longer.
    """

    PLAYLIST = "index.m3u8"

    def __init__(self, folder: str | os.PathLike, *, fps: float, size: tuple[int, int],
                 segment_s: float = 1.0, window_segments: int = 6, crf: int = 23,
                 preset: str = "veryfast"):
        import av

        self.folder = Path(folder)
        self.fps = float(fps)
        self.width, self.height = (int(v) for v in size)
        if self.width % 2 or self.height % 2 or self.width < 2 or self.height < 2:
            raise ExportError(f"HLS frames must have even, positive sides, got {size}")
        if not (self.fps > 0 and segment_s > 0 and window_segments >= 2):
            raise ExportError(f"HLS needs fps > 0, segment_s > 0 and window_segments >= 2, got "
                              f"{fps}, {segment_s}, {window_segments}")
        self._ticks_per_key = max(1, round(self.fps * segment_s))
        self._next_key_pts = 0
        self.frames_written = 0
        rate = _fps_fraction(self.fps)
        self._container = av.open(str(self.folder / self.PLAYLIST), "w", format="hls", options={
            "hls_time": f"{segment_s:g}", "hls_list_size": str(int(window_segments)),
            # delete_segments: the window slides on disk too; temp_file: rename when complete
            "hls_flags": "delete_segments+temp_file+independent_segments",
            "hls_segment_filename": str(self.folder / "segment_%06d.ts")})
        # zerolatency: no B-frames and no look-ahead, so a frame leaves the encoder at once;
        # one thread: the server's other work shares the cores
        self._stream = self._container.add_stream("libx264", rate=rate, options={
            "crf": str(int(crf)), "preset": preset, "tune": "zerolatency", "threads": "1"})
        self._stream.pix_fmt = "yuv420p"
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.time_base = fractions.Fraction(1, 1) / rate

    def write(self, frame: np.ndarray, *, pts: int) -> None:
        """Encode one frame, (H, W, 3) uint8 RGB, at tick `pts` (increasing)."""
        import av

        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise ExportError(f"HLS frames must be ({self.height}, {self.width}, 3) uint8, "
                              f"got {frame.shape} {frame.dtype}")
        video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        video_frame.pts = int(pts)
        if pts >= self._next_key_pts:  # a key frame starts each segment
            video_frame.pict_type = av.video.frame.PictureType.I
            self._next_key_pts = (pts // self._ticks_per_key + 1) * self._ticks_per_key
        for packet in self._stream.encode(video_frame):
            self._container.mux(packet)
        self.frames_written += 1

    def close(self) -> None:
        """Flush the encoder and end the playlist (idempotent)."""
        if self._container is None:
            return
        try:
            if self.frames_written:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
            self._container.close()
        finally:
            self._container = None


# --- audio (issue 18: sound that follows the chain) ------------------------------------------
#
# The clip's audio is decoded once, beside the analysis, resampled to one rate and layout
# (AUDIO_RATE, AUDIO_LAYOUT) and aligned to the picture: sample 0 is the presentation time of
# video frame 0, and frame i's span is samples [round(i * rate / fps), round((i + 1) * rate / fps)).
# Writers of mp4 (AAC) and webm (Opus) take samples beside the frames (`write_audio`).
__all__ += ["AUDIO_RATE", "AUDIO_LAYOUT", "DecodedAudio", "decode_audio", "write_test_clip"]

AUDIO_RATE = 48000  # Hz: Opus encodes only 48 kHz (and lower rates), AAC takes it as it is
AUDIO_LAYOUT = "stereo"  # every clip's sound is kept as stereo: mono is doubled, 5.1 downmixed
#   by FFmpeg's matrix (swresample), so play and export handle one layout
_AUDIO_FPS_TOLERANCE = 1e-3  # an --input-fps this far from the container's rate retimes the
#   picture; its sound would no longer match and is left out (said plainly)


@dataclass(frozen=True)
class DecodedAudio:
    """A clip's sound, resampled and aligned to its frames, or why it has none.

    samples: (S, 2) int16 interleaved stereo at `rate`, S = round(n_frames * rate / fps), or None.
    source: what the clip carried {"codec", "rate", "channels", "layout"} (None without audio).
    note: why there is no audio, or what was changed to fit (padding, trimming), or "".
    """

    samples: np.ndarray | None
    rate: int
    source: dict | None
    note: str = ""

    @property
    def channels(self) -> int:
        return 0 if self.samples is None else int(self.samples.shape[1])


def decode_audio(path: str | os.PathLike, *, n_frames: int, fps: float,
                 input_fps: float | None = None, rate: int = AUDIO_RATE,
                 layout: str = AUDIO_LAYOUT) -> DecodedAudio:
    """Decode the first audio stream of a clip to `(S, 2) int16` at `rate`, aligned to its frames.

    A second demux pass that decodes audio packets only (video packets are skipped undecoded),
    so it costs a small part of the picture's decode. Alignment: the audio stream's start time
    against the video stream's (sample 0 = frame 0's time); missing sound at either end is
    silence, sound beyond the last frame is dropped. An image folder, a clip without an audio
    stream, or one whose picture is retimed by `input_fps` gives `samples=None` and a note."""
    import av

    path = Path(path)
    total = int(round(n_frames * rate / fps))
    if path.is_dir():
        return DecodedAudio(None, rate, None, "an image folder carries no sound")
    try:
        container = av.open(str(path))
    except av.FFmpegError as error:
        return DecodedAudio(None, rate, None, f"its audio could not be read ({_ffmpeg_message(error)})")
    with container:
        if not container.streams.audio:
            return DecodedAudio(None, rate, None, "the clip has no audio track")
        stream = container.streams.audio[0]
        context = stream.codec_context
        source = {"codec": context.name, "rate": int(context.sample_rate or 0),
                  "channels": int(context.channels or 0),
                  "layout": context.layout.name if context.layout is not None else ""}
        video = container.streams.video[0] if container.streams.video else None
        if video is not None and input_fps is not None:
            native = video.average_rate or video.guessed_rate or video.base_rate
            if native and abs(float(native) - float(input_fps)) > _AUDIO_FPS_TOLERANCE * float(native):
                return DecodedAudio(None, rate, source,
                                    f"--input-fps {input_fps:g} retimes the picture "
                                    f"(the file says {float(native):g} fps), so its sound is left out")
        video_start_s = (float(video.start_time * video.time_base)
                         if video is not None and video.start_time is not None else 0.0)
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        channels = len(av.AudioLayout(layout).channels)
        chunks = []
        first_time_s = None
        try:
            for packet in container.demux(stream):
                for frame in packet.decode():
                    if first_time_s is None and frame.time is not None:
                        first_time_s = float(frame.time)
                    for out in resampler.resample(frame):
                        chunks.append(out.to_ndarray().reshape(-1, channels))  # packed s16
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1, channels))
        except av.FFmpegError as error:
            if not chunks:
                return DecodedAudio(None, rate, source,
                                    f"its audio could not be decoded ({_ffmpeg_message(error)})")
    decoded = np.concatenate(chunks) if chunks else np.zeros((0, channels), np.int16)  # (S', 2)
    audio_start_s = first_time_s if first_time_s is not None else video_start_s
    lead = int(round((audio_start_s - video_start_s) * rate))  # > 0: sound starts after frame 0
    samples = np.zeros((total, channels), np.int16)  # silence where the clip has no sound
    source_from = max(0, -lead)
    target_from = max(0, lead)
    count = max(0, min(total - target_from, decoded.shape[0] - source_from))
    samples[target_from:target_from + count] = decoded[source_from:source_from + count]
    missing_ms = (total - count) * 1000.0 / rate
    note = (f"its sound covers {count * 1000.0 / rate:.0f} of the picture's {total * 1000.0 / rate:.0f} ms;"
            " the rest is silent" if missing_ms > 1000.0 / fps else "")
    if count == 0:
        return DecodedAudio(None, rate, source, "its audio track holds no sound within the picture")
    return DecodedAudio(samples, rate, source, note)


def _audio_codec_name(kind: str) -> str | None:
    return {"mp4": "aac", "webm": "libopus"}.get(kind)


def write_test_clip(path: str | os.PathLike, frames: np.ndarray, *, fps: int = 30,
                    audio: np.ndarray | None = None, audio_rate: int = 48000,
                    audio_layout: str = "stereo", codec: str = "libx264",
                    audio_codec: str = "aac", container_format: str | None = None) -> Path:
    """Write a clip with an optional audio track (tests and benchmarks build their inputs):
    frames (T, H, W, 3) uint8 losslessly (x264 crf 0, yuv444p), audio (S, C) float in -1..1 at
    `audio_rate` with `audio_layout` ("mono", "stereo", "5.1", ...), encoded with `audio_codec`
    ("aac", "pcm_s16le" in .mov/.mkv, "libopus" in .webm/.mkv)."""
    import av

    path = Path(path)
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv444p" if codec == "libx264" else "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "0"}
        sound = None
        if audio is not None:
            sound = container.add_stream(audio_codec, rate=int(audio_rate), layout=audio_layout)
            sound.time_base = fractions.Fraction(1, int(audio_rate))
        for index, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            pcm = np.clip(np.asarray(audio, np.float32), -1, 1)  # (S, C)
            fmt = "fltp" if audio_codec in ("aac", "libopus") else "s16"
            step = 1024
            for start in range(0, pcm.shape[0], step):
                block = pcm[start:start + step]  # (n, C)
                if fmt == "fltp":
                    data = np.ascontiguousarray(block.T)  # (C, n) planar
                else:
                    data = np.ascontiguousarray((block * 32767).round().astype(np.int16).reshape(1, -1))
                audio_frame = av.AudioFrame.from_ndarray(data, format=fmt, layout=audio_layout)
                audio_frame.sample_rate = int(audio_rate)
                audio_frame.pts = start
                for packet in sound.encode(audio_frame):
                    container.mux(packet)
            for packet in sound.encode(None):
                container.mux(packet)
    return path


def read_audio_stream(path: str | os.PathLike) -> dict | None:
    """What an exported file's first audio stream holds: {"codec", "rate", "channels",
    "samples" (decoded, after the encoder's priming is dropped), "seconds", "video_seconds"
    (frames x frame duration), "pcm" (S, C) float32}. None: no audio stream."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        context = stream.codec_context
        blocks = []
        for frame in container.decode(stream):
            array = frame.to_ndarray()
            if frame.format.is_planar:
                array = array.T  # (C, n) -> (n, C)
            else:
                array = array.reshape(-1, len(frame.layout.channels))
            if array.dtype == np.int16:
                array = array.astype(np.float32) / 32768.0
            blocks.append(np.asarray(array, np.float32))
        pcm = np.concatenate(blocks) if blocks else np.zeros((0, context.channels), np.float32)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        rate = video.average_rate or video.guessed_rate
        frames = sum(1 for _ in container.decode(video))
        video_seconds = frames / float(rate)
    return {"codec": context.name, "rate": int(context.sample_rate), "channels": pcm.shape[1],
            "samples": pcm.shape[0], "seconds": pcm.shape[0] / float(context.sample_rate),
            "video_seconds": video_seconds, "pcm": pcm}


__all__ += ["read_audio_stream"]
# --- the proxy frame store (issue 17): short-GOP H.264, one packet per frame, with an index ---
__all__ += ["ProxyWriter", "ProxyDecoder"]


class ProxyWriter:
    """Encodes display frames into a proxy file: H.264 (libx264) without B-frames and with a
    key frame (IDR, headers in band) every `gop` frames, the packets written one after the
    other with no container. The index (`close()`) gives each frame's byte offset and whether
    it is a key frame, so a reader seeks to a frame's key frame with one file read and decodes
    at most `gop` - 1 frames before it. `hasher` (optional) is fed every byte written.

    Frames: `write_picture(picture)` takes `DecodedFrame.picture` (the decoder's own picture at
    the display size: no RGB on the way), `write(rgb)` an (h, w, 3) uint8 RGB array."""

    CODEC = "h264"  # what ProxyDecoder decodes

    def __init__(self, file, *, size: tuple[int, int], fps: float, crf: int = 18, gop: int = 8,
                 preset: str = "ultrafast", full_chroma: bool = False, hasher=None):
        import av

        self.width, self.height = (int(v) for v in size)
        if self.width % 2 or self.height % 2:
            raise ValueError(f"proxy frames need even sides (yuv420p), got {size}")
        # the chroma resolution of the source: yuv420p for video as cameras and the web deliver
        # it; yuv444p for a source with full colour (image folders, 4:4:4 video), where
        # halving it would lose ~15 levels on fine colour detail
        self.pix_fmt = "yuv444p" if full_chroma else "yuv420p"
        self._file = file  # an open binary file, appended to
        self._hasher = hasher
        self._context = av.CodecContext.create("libx264", "w")
        self._context.width, self._context.height = self.width, self.height
        self._context.pix_fmt = self.pix_fmt
        self._context.time_base = fractions.Fraction(1, 1) / _fps_fraction(fps)
        # no B-frames: packets come in display order, one per frame; a fixed GOP (no scene-cut
        # key frames) so that every frame is at most gop - 1 frames from its key frame
        self._context.options = {"crf": str(int(crf)), "preset": preset, "g": str(int(gop)),
                                 "keyint_min": str(int(gop)), "bf": "0", "sc_threshold": "0"}
        self._converter = None
        self._offsets = [0]
        self._keys: list[bool] = []
        self.frames_in = 0

    def write_picture(self, picture) -> None:
        import av

        if (picture.width, picture.height) != (self.width, self.height) or \
                picture.format.name != self.pix_fmt:
            if self._converter is None:
                self._converter = _Converter()
            picture = self._converter.scaled(picture, (self.width, self.height), self.pix_fmt)
        picture.pts = self.frames_in
        picture.time_base = self._context.time_base  # a decoded picture has its stream's: x264's
        #   rate control reads the frame times (at 1/15360 s apart it spent 20% fewer bits)
        picture.pict_type = av.video.frame.PictureType.NONE  # the encoder chooses (a decoded
        #   picture carries its own type, which would force it)
        self.frames_in += 1
        self._mux(self._context.encode(picture))

    def write(self, frame: np.ndarray) -> None:
        """An (h, w, 3) uint8 RGB frame (scaled to the proxy's size if it differs)."""
        import av

        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"proxy frames must be (h, w, 3) uint8, got {frame.shape} {frame.dtype}")
        self.write_picture(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24"))

    def _mux(self, packets) -> None:
        for packet in packets:
            data = bytes(packet)
            self._file.write(data)
            if self._hasher is not None:
                self._hasher.update(data)
            self._offsets.append(self._offsets[-1] + len(data))
            self._keys.append(bool(packet.is_keyframe))

    def close(self) -> tuple[np.ndarray, np.ndarray]:
        """Flush the encoder. Returns (offsets (T+1,) int64 byte offsets of the frames' packets,
        keys (T,) bool key frames)."""
        self._mux(self._context.encode(None))
        if len(self._keys) != self.frames_in or (self._keys and not self._keys[0]):
            raise ExportError(f"the proxy encoder gave {len(self._keys)} packets for "
                              f"{self.frames_in} frames; use the raw store (--store raw)")
        return np.asarray(self._offsets, np.int64), np.asarray(self._keys, np.bool_)


class ProxyDecoder:
    """Decodes frames of a proxy file (ProxyWriter) by index: `frames(start, stop)` -> a list of
    (h, w, 3) uint8 RGB arrays. Continues without seeking where the previous call ended;
    otherwise starts at the key frame at or before `start`. One thread: one packet in, one
    picture out, at once (a frame-threaded decoder would hold pictures back). Not thread-safe:
    one decoder per thread."""

    def __init__(self, path: str | os.PathLike, offsets: np.ndarray, keys: np.ndarray,
                 size: tuple[int, int]):
        self.path = Path(path)
        self._offsets = offsets
        self._key_frames = np.flatnonzero(keys)  # (K,) frame numbers of the key frames
        self._size = (int(size[0]), int(size[1]))
        self._fd = os.open(self.path, os.O_RDONLY)
        self._context = None
        self._converter = None
        self._next = -1  # the frame the decoder would give next without seeking
        self.decoded = 0  # pictures decoded (key frame lead-ins included)

    def _open_context(self):
        import av

        self._context = av.CodecContext.create(ProxyWriter.CODEC, "r")
        self._context.thread_count = 1
        self._converter = _Converter()

    def frames(self, start: int, stop: int) -> list[np.ndarray]:
        import av

        if self._context is None:
            self._open_context()
        if start != self._next:
            key = int(self._key_frames[np.searchsorted(self._key_frames, start, side="right") - 1])
            if self._next > start or self._next < key:  # before the key frame: decode from it
                self._context.flush_buffers()
                self._next = key
        first = self._next
        data = os.pread(self._fd, int(self._offsets[stop] - self._offsets[first]),
                        int(self._offsets[first]))
        out = []
        base = int(self._offsets[first])
        try:
            for index in range(first, stop):
                begin = int(self._offsets[index]) - base
                end = int(self._offsets[index + 1]) - base
                pictures = self._context.decode(av.Packet(data[begin:end]))
                if len(pictures) != 1:
                    raise av.InvalidDataError(0, "no picture for a packet")
                self.decoded += 1
                if index >= start:
                    out.append(self._converter.rgb(pictures[0]))
        except av.FFmpegError as error:
            self._next = -1
            self._context = None
            raise ClipError(f"{self.path}: the proxy store does not decode at frame {index} "
                            f"({error}); run `framechain analyze` on the clip again") from None
        self._next = stop
        for index, frame in enumerate(out):
            if frame.shape[:2] != (self._size[1], self._size[0]):
                raise ClipError(f"{self.path}: the proxy store holds {frame.shape[1]}x"
                                f"{frame.shape[0]} frames, its index says {self._size[0]}x"
                                f"{self._size[1]}; run `framechain analyze` on the clip again")
        return out

    def close(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None
        self._context = None

    def __del__(self):
        self.close()

"""Reading and writing video: the one module that imports PyAV (`av`).

Decoding streams frames as `(H, W, 3) uint8` RGB, once, in order, from every container FFmpeg
reads (mp4, mov, mkv, webm, avi, mpeg, animated GIF, ...) and from a folder of numbered PNG/JPEG
images. The frame count is the number of frames actually decoded: container headers are hints
only (edit lists and header-less MPEG streams say otherwise). Audio streams are ignored.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from precompute.errors import ClipError

__all__ = ["ClipInfo", "ClipReader", "open_clip", "decode_clip", "IMAGE_SUFFIXES", "DEFAULT_FOLDER_FPS"]

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

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # (H, W, 3) BGR uint8, or None
    if image is None:
        raise ClipError(f"{path}: not a readable PNG/JPEG image; replace or remove it")
    return np.ascontiguousarray(image[:, :, ::-1])  # BGR -> RGB


class ClipReader:
    """A clip opened for one streaming pass. Iterate it for `(H, W, 3) uint8` RGB frames.

    Use as a context manager, or call `close()`. Counting what it yields is the frame count.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float | None = None):
        self.path = Path(path)
        self._container = None
        self._images: list[Path] | None = None
        if fps is not None and not (fps > 0):
            raise ClipError(f"--fps must be positive, got {fps}")
        if not self.path.exists():
            raise ClipError(f"{self.path}: no such file or folder; check the path")
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
        self.info = ClipInfo(str(self.path), "video", width, height, clip_fps, int(stream.frames or 0))

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
        import av

        stream = self._container.streams.video[0]
        decoded = 0
        try:
            for frame in self._container.decode(stream):
                decoded += 1
                yield frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8
        except av.FFmpegError as error:
            raise ClipError(f"{self.path}: damaged or truncated after {decoded} frames "
                            f"({error.strerror or error}); re-encode or trim the file") from None

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> "ClipReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_clip(path: str | os.PathLike, *, fps: float | None = None) -> ClipReader:
    """Open a clip (video file, animated GIF or image folder) for one streaming pass."""
    return ClipReader(path, fps=fps)


def decode_clip(path: str | os.PathLike, *, fps: float | None = None,
                max_frames: int | None = None) -> tuple[np.ndarray, ClipInfo]:
    """Decode a whole (small) clip into memory: `(T, H, W, 3) uint8` and its ClipInfo.

    For long clips use `open_clip` and stream; this holds every frame at full size.
    """
    frames = []
    with open_clip(path, fps=fps) as reader:
        for frame in reader:
            frames.append(frame)
            if max_frames is not None and len(frames) >= max_frames:
                break
        info = reader.info
    if not frames:
        raise ClipError(f"{path}: no frame could be decoded; check that the file is a video")
    return np.stack(frames), info


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

__all__ += ["EncodeConfig", "VideoWriter", "open_writer", "write_frames", "writer_kind",
            "WRITER_SUFFIXES", "QUALITY_PRESETS"]

WRITER_SUFFIXES = {".mp4": "mp4", ".m4v": "mp4", ".webm": "webm", ".gif": "gif",
                   ".png": "apng", ".apng": "apng"}  # anything else without a suffix: a folder


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
    """"mp4", "webm", "gif", "apng" or "folder" (no suffix, a trailing "/", or an existing folder)."""
    text = os.fspath(path)
    path = Path(path)
    if path.is_dir() or text.endswith(("/", os.sep)) or path.suffix == "":
        return "folder"
    kind = WRITER_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ExportError(f"{path}: unknown output type {path.suffix!r}; use .mp4, .webm, .gif, "
                          ".png (animated PNG) or a folder name (numbered PNGs)")
    return kind


def _fps_fraction(fps: float) -> fractions.Fraction:
    # 29.97 -> 30000/1001: containers want an exact rational rate
    return fractions.Fraction(float(fps)).limit_denominator(1001)


def _ffmpeg_message(error: BaseException) -> str:
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


class VideoWriter:
    """A file being written, frame by frame. Use `open_writer`; see the module comment.

    `size` is the frames' (width, height). H.264 needs even sizes: an odd width or height is
    padded by repeating the last column or row (no picture is lost). `alpha=True` takes RGBA
    frames: .webm (VP9 yuva420p), .png (APNG) and folders keep the alpha; .gif keeps it as 1-bit
    transparency; .mp4 refuses it.
    """

    def __init__(self, path: str | os.PathLike, *, fps: float, size: tuple[int, int],
                 alpha: bool = False, config: EncodeConfig = EncodeConfig()):
        self.path = Path(path)
        self.kind = writer_kind(path)
        self.fps = float(fps)
        self.width, self.height = (int(v) for v in size)
        self.alpha = bool(alpha)
        self.config = config
        self.frames_written = 0
        self._closed = False
        self._container = None
        self._stream = None
        self._spool = None
        self._palette_graph = None
        if not (self.fps > 0):
            raise ExportError(f"{self.path}: fps must be positive, got {fps}")
        if self.kind == "gif" and self.fps > 50:
            # GIF delays are whole 1/100 s and browsers slow delays under 2/100 s to 1/10 s
            raise ExportError(f"{self.path}: GIF plays at most 50 fps in browsers, got {fps:g}; "
                              "pass a lower --fps or write .mp4/.webm")
        if self.width < 1 or self.height < 1:
            raise ExportError(f"{self.path}: frame size must be positive, got {size}")
        if self.alpha and self.kind == "mp4":
            raise ExportError(f"{self.path}: H.264 mp4 has no alpha channel; write RGBA frames to "
                              ".webm (VP9 with alpha), .png (APNG) or a folder of PNGs")
        parent = self.path.parent
        if not parent.is_dir():
            raise ExportError(f"{self.path}: the folder {parent} does not exist; create it or "
                              "choose another output path (nothing was written)")
        if self.kind == "folder" and self.path.exists() and not self.path.is_dir():
            raise ExportError(f"{self.path}: exists and is not a folder; choose another output")
        if self.kind == "folder" and self.path.is_dir():
            foreign = [p.name for p in self.path.iterdir() if not _is_frame_png(p.name)]
            if foreign:
                raise ExportError(f"{self.path}: the folder holds other files ({foreign[0]}, ...); "
                                  "give an empty or new folder for numbered PNGs")
        self._temp = parent / f".{self.path.name.rstrip(os.sep) or 'frames'}.part-{os.getpid()}" \
                              f"{'' if self.kind == 'folder' else self.path.suffix}"
        try:
            self._open()
        except BaseException as error:
            self._remove_temp()
            if isinstance(error, (OSError, _av_errors())) and not isinstance(error, ExportError):
                raise ExportError(f"{self.path}: cannot write here ({_ffmpeg_message(error)}); "
                                  "check the folder is writable and has space (nothing was written)"
                                  ) from None
            raise

    # --- opening, per format -----------------------------------------------------------------
    def _open(self) -> None:
        if self.kind == "folder":
            self._temp.mkdir()
            return
        import av

        rate = _fps_fraction(self.fps)
        if self.kind == "gif":
            # two passes for one global palette: frames are spooled raw, the palette is
            # gathered on the way (palettegen), and the file is encoded on close (paletteuse)
            self._spool = tempfile.TemporaryFile(dir=self.path.parent, prefix=".framechain-spool-")
            self._palette_graph = self._gif_palette_graph(rate)
            self._container = av.open(str(self._temp), "w", format="gif")
            self._stream = self._container.add_stream("gif", rate=rate)
            self._stream.pix_fmt = "pal8"
        elif self.kind == "mp4":
            self._container = av.open(str(self._temp), "w", format="mp4",
                                      options={"movflags": "+faststart"})
            self._stream = self._container.add_stream(
                "libx264", rate=rate,
                options={"crf": str(self.config.h264_crf), "preset": self.config.h264_preset})
            self._stream.pix_fmt = "yuv420p"
        elif self.kind == "webm":
            self._container = av.open(str(self._temp), "w", format="webm")
            self._stream = self._container.add_stream(
                "libvpx-vp9", rate=rate,
                options={"crf": str(self.config.vp9_crf), "b": "0",
                         "cpu-used": str(self.config.vp9_cpu_used), "row-mt": "1"})
            self._stream.pix_fmt = "yuva420p" if self.alpha else "yuv420p"
        elif self.kind == "apng":
            self._container = av.open(str(self._temp), "w", format="apng",
                                      options={"plays": "0"})  # 0: loop forever
            self._stream = self._container.add_stream("apng", rate=rate)
            self._stream.pix_fmt = "rgba" if self.alpha else "rgb24"
        pad_w, pad_h = self._encoded_size()
        self._stream.width, self._stream.height = pad_w, pad_h
        self._stream.time_base = fractions.Fraction(1, 1) / rate if self.kind != "gif" else \
            fractions.Fraction(1, 100)  # GIF delays are in 1/100 s

    def _encoded_size(self) -> tuple[int, int]:
        if self.kind == "mp4":  # yuv420p in H.264: both sides even
            return self.width + self.width % 2, self.height + self.height % 2
        return self.width, self.height

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

    def _write(self, frame: np.ndarray) -> None:
        if self.kind == "folder":
            self._write_png(frame)
            return
        if self.kind == "gif":
            self._spool.write(frame.tobytes())
            self._palette_graph[1].push(self._video_frame(frame, self.frames_written))
            return
        if self.kind == "mp4" and (self.width % 2 or self.height % 2):
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

    def _write_png(self, frame: np.ndarray) -> None:
        import cv2

        name = self._temp / f"frame_{self.frames_written:06d}.png"
        image = frame[:, :, [2, 1, 0, 3]] if frame.shape[2] == 4 else frame[:, :, ::-1]  # RGB(A) -> BGR(A)
        if not cv2.imwrite(str(name), image, [cv2.IMWRITE_PNG_COMPRESSION, self.config.png_compression]):
            raise OSError(f"could not write {name.name}")

    # --- finishing ---------------------------------------------------------------------------
    def close(self) -> Path:
        """Finish the file and move it onto the target path. Returns the path."""
        if self._closed:
            return self.path
        try:
            if self.frames_written == 0:
                raise ExportError(f"{self.path}: no frames were written; nothing to save")
            if self.kind == "gif":
                self._finish_gif()
            if self._container is not None:
                self._encode(None)  # flush the encoder
                self._container.close()
                self._container = None
            self._replace_target()
        except BaseException as error:
            self.abort()
            raise self._wrap(error) from None
        self._closed = True
        return self.path

    def _finish_gif(self) -> None:
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
        self._spool.close()
        self._spool = None

    def _drain(self, sink) -> None:
        import av

        while True:
            try:
                frame = sink.pull()
            except (av.BlockingIOError, av.EOFError):
                return
            self._encode(frame)

    def _replace_target(self) -> None:
        if self.kind == "folder":
            if self.path.is_dir():
                shutil.rmtree(self.path)  # checked at open: only numbered PNGs of ours
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
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        self._remove_temp()

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
                config: EncodeConfig = EncodeConfig(), quality: str | None = None) -> VideoWriter:
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
    return VideoWriter(path, fps=fps, size=size, alpha=alpha, config=config)


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

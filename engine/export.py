"""Export to a file: the best seamless compound loop of about S seconds, or S seconds of random play.

Loop mode (`export_loop`): the cheapest compound loop (precompute.loops) whose length is within
10% of the asked length; its frame order is played as a cycle, so the step from the last frame
back to the first is a natural step or one of the loop's jumps, and every jump, the wrap
included, is rendered with the chosen transition. Crossfades are scheduled cyclically
(`engine.transitions.blend_schedule(..., cyclic=True)`): the frames at the end already fade toward
the loop start and those at the start are blended accordingly, so a player looping the file
shows no seam. No frame is repeated at the wrap.

Random mode (`export_random`): S seconds of random play from `engine.playback.Playback`.

Both write through `precompute.video_io.open_writer` (a temporary file renamed when complete) and
can write the play log (docs/ARCHITECTURE.md), one entry per output frame.

Sound (issue 18): when the analysis kept the clip's sound and the format carries sound (mp4:
AAC, webm: Opus), `engine.audio.path_audio` cuts it along the same path, crossfading each jump
(a loop's wrap too, cyclically, so the file repeats without a click), and the track is exactly
as long as the picture (round(frames x rate / fps) samples, written frame by frame beside it).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from precompute.errors import ConfigError, ExportError, FramechainError
from precompute.loops import Loop, LoopConfig, find_loop
from engine.playlog import write_play_log
from precompute.video_io import EncodeConfig, open_writer, writer_kind

__all__ = ["ExportConfig", "ExportResult", "export_loop", "export_random", "render_blends",
           "write_play_log", "parse_size"]


@dataclass(frozen=True, kw_only=True)
class ExportConfig:
    """How an export is rendered and encoded (the length and the mode are arguments)."""

    fade_frames: int = 4  # K: crossfade length centred on each jump, frames; 0 or 1 cuts.
    #   Longer hides poorer jumps but ghosts more.
    transitions: str = "crossfade"  # a registered renderer (engine.renderers): "crossfade",
    #   "morph" (optical flow), "cut", "generated", or one added there
    size: tuple[int, int] | None = None  # (width, height) of the output; None: the frame store's
    fps: float | None = None  # output frame rate; None: the clip's. Frames are shown one per
    #   output frame, so another rate plays faster or slower, and S seconds hold S x fps frames.
    seed: int = 0  # random mode: the generator's seed; the same seed writes the same file
    loop: LoopConfig = field(default_factory=LoopConfig)  # the loop search (K primitives, +-10%)
    encode: EncodeConfig = field(default_factory=EncodeConfig)  # codec quality per format
    audio: object = None  # engine.audio.AudioConfig (None: its defaults): the clip's sound in
    #   mp4/webm, crossfaded at jumps; AudioConfig(enabled=False) is --no-audio

    def __post_init__(self):
        from engine.renderers import transition

        transition(self.transitions)  # an unknown name: a ConfigError listing the registered ones
        if int(self.fade_frames) != self.fade_frames or not 0 <= self.fade_frames <= 64:
            raise ConfigError(f"--fade must be an integer in 0..64 frames, got {self.fade_frames}")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ConfigError(f"--size must be WxH with positive sides, got {self.size}")
        if self.fps is not None and not self.fps > 0:
            raise ConfigError(f"--fps must be positive, got {self.fps}")


@dataclass(frozen=True)
class ExportResult:
    """What was written."""

    path: Path
    mode: str  # "loop" or "random"
    frames: int  # output frames written
    fps: float
    source_frames: np.ndarray = field(repr=False)  # (frames,) int32 path of source frames
    blends: list = field(repr=False)  # per output frame [(source_index, weight), ...]
    loop: Loop | None = field(default=None, repr=False)  # loop mode: the compound loop written
    log_path: Path | None = None
    generated: dict = field(default_factory=dict, repr=False)  # output index -> bridge state
    notes: tuple = ()  # things to tell the user (a fallback taken)
    audio_samples: int = 0  # sound samples written (0: silent file)
    audio_rate: int | None = None
    audio_frames: list = field(default_factory=list, repr=False)  # per output frame, the
    #   sound's description (engine.audio), as the play log writes it

    @property
    def seconds(self) -> float:
        return self.frames / self.fps

    def describe(self) -> str:
        what = f"{self.frames} frames = {self.seconds:.2f} s at {self.fps:g} fps"
        if self.loop is not None:
            jumps = len(self.loop.jumps)
            what = (f"loop of {what}, {jumps} jump{'s' if jumps != 1 else ''}, "
                    f"cost {self.loop.cost:.3f}")
        return f"{self.path} ({what})"

    def __str__(self) -> str:
        return self.describe()


def parse_size(text: str | None) -> tuple[int, int] | None:
    """'640x360' -> (640, 360); None -> None. Raises ConfigError otherwise."""
    if text is None:
        return None
    parts = str(text).lower().split("x")
    try:
        width, height = (int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"--size must be WxH in pixels, like 640x360, got {text!r}") from None
    if width < 1 or height < 1:
        raise ConfigError(f"--size must be WxH with positive sides, got {text!r}")
    return width, height


def _source_path(analysis) -> str:
    source = getattr(analysis, "source", "")
    if isinstance(source, dict):
        return str(source.get("path", ""))
    return str(source)


def _compositor(analysis, config: ExportConfig, source_frames: np.ndarray, unmorphed=frozenset()):
    """The export's compositor. `unmorphed`: jumps (i, j) drawn as a crossfade although the
    transition morphs (`--transitions auto`'s choice): they get no flow, so they fade."""
    from engine.render import make_compositor
    from engine.renderers import transition

    frames = analysis.frames
    flows = None
    if transition(config.transitions).needs_flows:  # the morph, and generated's unbridged jumps
        from precompute.flows import jump_flows  # DIS flow per distinct jump of this path

        source_frames = np.asarray(source_frames, np.int64)
        following = np.roll(source_frames, -1)  # cyclic: the wrap of a loop is a jump too
        jump = following != source_frames + 1
        if unmorphed:
            jump &= np.array([(int(i), int(j)) not in unmorphed for i, j in zip(source_frames, following)])
        flows = jump_flows(frames, source_frames[jump], following[jump])
    return make_compositor(frames, transitions=config.transitions, device="cpu", flows=flows,
                           fade_frames=config.fade_frames)


def _bridge_path(analysis, source_frames: np.ndarray, blends: list, *, fade_frames: int,
                 cyclic: bool, choose: bool = False):
    """Generated transitions: put issue 6's bridges into the path.

    Returns (blends, generated, notes): blends for the play log (a generated frame as the blend
    of its bridge's endpoints), {output index: state} for the generated frames, and notes. Around
    a bridged jump the crossfade is dropped (the bridge replaces it): the output frames within
    the fade's reach show their path frame alone. Jumps without a bridge keep their morph.

    With `choose` (`--transitions auto`), each bridged jump is drawn as its stored choice
    (Bridges.chosen): "generated" as above, "cut" with the fade dropped around it, "crossfade"
    with no flow (generated["unmorphed"] lists those jumps), "morph" as the morph. Jumps without
    a bridge (and so without stored measures) are morphed.
    """
    from engine.transitions import fade_reach
    from precompute.bridges import bridges_message, load_bridges

    bridges = load_bridges(analysis)
    if bridges is None:
        return blends, {}, (bridges_message(analysis),)
    chosen = [bridges.chosen(b) for b in range(bridges.n_bridges)]
    use = np.array([c == "generated" for c in chosen], bool) if choose else None
    states = bridges.expand_path(source_frames, cyclic=cyclic, use=use)  # (L,) int32, same length
    length = len(states)
    reach = fade_reach(fade_frames)
    blends = list(blends)
    unmorphed, cut_at, notes = set(), [], ()
    if choose:
        if bridges.choice is None:
            notes = ("these bridges hold no measures for --transitions auto (made before issue 13); "
                     "run `framechain bridges` again; using the generated bridges",)
        path = np.asarray(source_frames, np.int64)
        for position in range(length if cyclic else length - 1):
            i, j = int(path[position]), int(path[(position + 1) % length])
            b = bridges.bridge_for(i, j) if j != i + 1 else None
            if b is None or states[(position + 1) % length] >= bridges.n_frames:
                continue
            if chosen[b] == "cut":
                cut_at.append(position)
            elif chosen[b] == "crossfade":
                unmorphed.add((i, j))
    generated_at = np.flatnonzero(states >= bridges.n_frames)
    if generated_at.size == 0 and not cut_at:
        if choose:
            return blends, {"unmorphed": unmorphed}, notes
        return blends, {}, ("no jump of this path has a generated bridge; jumps are morphed",)
    plain = set()
    for position in [int(p) for p in generated_at] + cut_at:
        for offset in range(-reach - 1, reach + 2):
            plain.add((position + offset) % length if cyclic else position + offset)
    for position in sorted(plain):
        if 0 <= position < length and states[position] < bridges.n_frames:
            blends[position] = [(int(states[position]), 1.0)]
    generated = {}
    for position in generated_at:
        state = int(states[position])
        blends[int(position)] = bridges.blend_of(state)
        generated[int(position)] = state
    return blends, {"bridges": bridges, "states": generated, "unmorphed": unmorphed}, notes


def render_blends(analysis, blends, *, config: ExportConfig, source_frames: np.ndarray,
                  generated: dict | None = None):
    """Yield the output frames, (H, W, 3) uint8, one per blend (resized to config.size).

    generated: {"bridges": Bridges, "states": {output index: state}} from `_bridge_path`:
    those output frames are the bridge's generated images."""
    import cv2

    compositor = _compositor(analysis, config, source_frames, (generated or {}).get("unmorphed", frozenset()))
    height, width = analysis.frames.shape[1:3]
    size = config.size
    interpolation = None
    if size is not None and tuple(size) != (width, height):
        interpolation = cv2.INTER_AREA if size[0] * size[1] < width * height else cv2.INTER_LINEAR
    states = (generated or {}).get("states", {})
    for position, blend in enumerate(blends):
        if position in states:
            frame = generated["bridges"].frame(states[position])  # (H, W, 3) uint8
        else:
            frame = compositor.compose(blend)  # (H, W, 3) uint8; valid until the next call
        if interpolation is not None:
            frame = cv2.resize(frame, tuple(size), interpolation=interpolation)
        yield frame


@contextmanager
def writing(out, *, count: int, what: str, progress: bool):
    """Around the writing of one output (the writers write a temporary file renamed into place):
    yields a progress bar of `count` frames, and says any failure as one line naming `out` with
    nothing written (an ExportError as it is). Export and hyperlapse write through it."""
    from tqdm import tqdm

    bar = tqdm(total=count, unit="frame", desc=what, disable=not progress, leave=False)
    try:
        yield bar
    except FramechainError as error:
        if isinstance(error, ExportError):
            raise
        raise ExportError(f"{out}: {error}; nothing was written (no partial file left)") from None
    finally:
        bar.close()


def _write(out, frames_iter, *, count: int, fps: float, size: tuple[int, int], config: ExportConfig,
           progress: bool, what: str, sound=None, cyclic: bool = False) -> Path:
    """sound: None, or (samples (S, 2) int16, rate, starts (count + 1,) output sample of each
    frame): each frame's span is written beside it, so the muxer interleaves as it goes.
    cyclic: a loop, whose sound goes on with its own start (what fills the codec's last block)."""
    audio_rate = sound[1] if sound is not None else None
    with writing(out, count=count, what=what, progress=progress) as bar, \
            open_writer(out, fps=fps, size=size, config=config.encode, audio_rate=audio_rate) as writer:
        if sound is not None and cyclic and writer.has_audio:
            writer.set_audio_continuation(sound[0][:4096])
        for position, frame in enumerate(frames_iter):
            writer.write(frame)
            if sound is not None:
                samples, _, starts = sound
                writer.write_audio(samples[starts[position]:starts[position + 1]])
            bar.update(1)
    return writer.path


def _output_size(analysis, config: ExportConfig) -> tuple[int, int]:
    if config.size is not None:
        return tuple(int(v) for v in config.size)
    return int(analysis.frames.shape[2]), int(analysis.frames.shape[1])


def _fade(config: ExportConfig) -> int:
    from engine.renderers import transition

    return transition(config.transitions).fade_frames(config.fade_frames)


def choose_loop(analysis, *, seconds: float, config: ExportConfig = ExportConfig()) -> Loop:
    """The best compound loop of about `seconds` (within config.loop.length_tolerance)."""
    if not (seconds > 0):
        raise ConfigError(f"--seconds must be positive, got {seconds}")
    fps = float(config.fps or analysis.fps)
    target = max(1, int(round(seconds * fps)))
    try:
        return find_loop(analysis.loop_sources, analysis.loop_targets, analysis.loop_costs,
                         target_length=target, config=config.loop)
    except ValueError as error:
        raise ExportError(f"{analysis.path}: no seamless loop of about {seconds:g} s "
                          f"({target} frames at {fps:g} fps): {error}; try another --seconds"
                          ) from None


def export_loop(analysis, out: str | os.PathLike, *, seconds: float,
                config: ExportConfig = ExportConfig(), log: str | os.PathLike | None = None,
                progress: bool = True) -> ExportResult:
    """Write the best compound loop of about `seconds` to `out` (format by extension).

    analysis: a precompute.Analysis (frames (T, H, W, 3) uint8 and the loop candidates).
    Returns an ExportResult; `result.loop.length` is the length chosen (within 10% of asked).
    """
    writer_kind(out)  # an unknown extension fails before any work
    loop = choose_loop(analysis, seconds=seconds, config=config)
    from engine.renderers import transition
    from engine.transitions import blend_schedule

    blends = blend_schedule(loop.frames, fade_frames=_fade(config), cyclic=True,
                            n_frames=int(analysis.n_frames))
    source_frames = np.asarray(loop.frames)
    if not transition(config.transitions).uses_bridges:  # bridges sit on the loop's own order
        start = _calmest_start(analysis, blends)
        blends = blends[start:] + blends[:start]
        source_frames = np.roll(source_frames, -start)
    return _finish(analysis, out, "loop", source_frames, blends, loop=loop, config=config, log=log,
                   progress=progress, cyclic=True)


def _calmest_start(analysis, blends, width: int = 64) -> int:
    """Where to start a cyclic loop so that its wrap (last frame -> first) is its smallest step.

    A loop has no natural beginning: rotating it changes nothing while it plays, but a player
    that restarts the file may hiccup at the wrap, and a viewer's eye is drawn to it, so the wrap
    is placed on the calmest step. Steps are measured on 64 px versions of the blended frames.
    """
    import cv2

    if len(blends) < 3:
        return 0
    frames = analysis.frames
    height = max(1, round(frames.shape[1] * width / frames.shape[2]))
    small = {}
    for blend in blends:
        for index, _ in blend:
            if index not in small:
                small[index] = cv2.resize(np.asarray(frames[index]), (width, height),
                                          interpolation=cv2.INTER_AREA).astype(np.float32)
    shown = np.stack([sum(weight * small[index] for index, weight in blend) for blend in blends])
    steps = np.sqrt(np.mean((np.roll(shown, -1, axis=0) - shown) ** 2, axis=(1, 2, 3)))  # t -> t+1
    return int(np.argmin(steps) + 1) % len(blends)


def _finish(analysis, out, mode: str, source_frames, blends, *, loop, config: ExportConfig, log,
            progress: bool, cyclic: bool) -> ExportResult:
    fps = float(config.fps or analysis.fps)
    generated, notes = {}, ()
    from engine.renderers import transition

    if transition(config.transitions).uses_bridges:
        blends, generated, notes = _bridge_path(analysis, source_frames, blends,
                                                fade_frames=_fade(config), cyclic=cyclic,
                                                choose=transition(config.transitions).chooses)
    frames = render_blends(analysis, blends, config=config, source_frames=source_frames,
                           generated=generated)
    sound, audio_frames, audio_header, sound_notes = _path_sound(analysis, out, source_frames,
                                                                 config=config, fps=fps, cyclic=cyclic)
    notes = tuple(notes) + sound_notes
    path = _write(out, frames, count=len(blends), fps=fps, size=_output_size(analysis, config),
                  config=config, progress=progress, what=f"export {mode}", sound=sound, cyclic=cyclic)
    log_path = None
    states = generated.get("states", {}) if generated else {}
    if log is not None:
        described = {position: generated["bridges"].describe(state) for position, state in states.items()}
        log_path = write_play_log(log, blends, source=_source_path(analysis), fps=fps,
                                  generated=described,
                                  audio=dict(audio_header, frames=audio_frames) if sound else None)
    return ExportResult(Path(path), mode, len(blends), fps, np.asarray(source_frames, np.int32),
                        blends, loop, log_path, states, notes,
                        audio_samples=int(sound[0].shape[0]) if sound else 0,
                        audio_rate=sound[1] if sound else None, audio_frames=audio_frames)


def _path_sound(analysis, out, source_frames, *, config: ExportConfig, fps: float, cyclic: bool):
    """The sound along the path, or why there is none: (sound for _write or None, descriptions,
    the play log's audio header, notes)."""
    from engine.audio import AudioConfig, path_audio
    from engine.playlog import audio_header
    from precompute.bundle import audio_note, load_audio
    from precompute.video_io import writer_class

    audio = config.audio if config.audio is not None else AudioConfig()
    if not audio.enabled:
        return None, [], {}, ()
    clip_sound = load_audio(analysis) if hasattr(analysis, "manifest") else None
    if clip_sound is None:
        if hasattr(analysis, "manifest") and writer_class(out).AUDIO_CODEC:
            return None, [], {}, (f"sound: {audio_note(analysis)}",)
        return None, [], {}, ()
    if not writer_class(out).AUDIO_CODEC:
        return None, [], {}, (f"sound: {writer_class(out).KIND} files carry no sound; "
                              "write .mp4 (AAC) or .webm (Opus) to keep it",)
    samples, entries = path_audio(clip_sound.samples, source_frames, rate=clip_sound.rate,
                                  fps_clip=float(analysis.fps), fps_out=fps,
                                  fade_ms=audio.fade_ms, cyclic=cyclic)
    starts = [entry[0] for entry in entries] + [samples.shape[0]]
    header = audio_header(rate=clip_sound.rate, channels=samples.shape[1], fade_ms=audio.fade_ms,
                          source_samples=clip_sound.samples.shape[0], samples=samples.shape[0])
    return (samples, clip_sound.rate, starts), entries, header, ()


def export_random(analysis, out: str | os.PathLike, *, seconds: float,
                  config: ExportConfig = ExportConfig(), log: str | os.PathLike | None = None,
                  progress: bool = True) -> ExportResult:
    """Write `seconds` of random play (engine.playback.Playback, seeded by config.seed)."""
    from engine.playback import Playback, PlaybackConfig
    from engine.texture import VideoTexture

    writer_kind(out)
    if not (seconds > 0):
        raise ConfigError(f"--seconds must be positive, got {seconds}")
    fps = float(config.fps or analysis.fps)
    count = max(1, int(round(seconds * fps)))
    playback = Playback(VideoTexture.from_analysis(analysis),
                        PlaybackConfig(seed=int(config.seed), fade_frames=_fade(config)))
    blends, source_frames = [], []
    for _ in range(count):  # one path position per output frame (speed 1)
        blends.append(playback.current_blend())
        source_frames.append(playback.current_frame)
        playback.step(1)
    source_frames = np.asarray(source_frames, np.int32)
    return _finish(analysis, out, "random", source_frames, blends, loop=None, config=config,
                   log=log, progress=progress, cyclic=False)

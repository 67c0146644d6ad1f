"""The player loop: events -> playback.update(dt) -> compose -> window.show -> tick.

`play(texture, ...)` runs it in a window, or headless on SDL's dummy driver (the same loop; time
then advances by exactly one clip frame per output frame unless `paced`), and can write the play
log (docs/ARCHITECTURE.md) and per-frame timings. Used by `framechain play` and the demos.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.playback import Playback, PlaybackConfig
from engine.render import make_compositor
from engine.texture import VideoTexture
from engine.window import Window, WindowConfig
from precompute.errors import ConfigError

__all__ = ["PlayerConfig", "PlayResult", "play", "write_play_log", "APP_KEYS_HELP"]

APP_KEYS_HELP = [  # short: at 320x240 the help shares the window with the overlay
    ("space", "pause"),
    ("right / .", "step"),
    ("backspace", "restart"),
    ("n", "new seed"),
    ("up / down", "speed"),
    ("+ / -", "variety"),
    ("t", "cut / fade"),
    ("m", "mute"),
]


@dataclass(frozen=True, kw_only=True)
class PlayerConfig:
    """How the player runs (the playback's own settings are in PlaybackConfig)."""

    frames: int | None = None  # stop after this many output frames; None: until the window closes
    headless: bool = False  # SDL's dummy driver: no window on screen, same loop
    paced: bool | None = None  # wait to hold the frame rate; None: paced with a window, not headless
    display_fps: float | None = None  # output frame rate; None: the clip's fps
    transitions: str = "crossfade"  # a registered renderer (engine.renderers): "crossfade",
    #   "cut" (fade_frames 0), "morph" (optical flow), or one added there
    device: str = "cpu"  # "cpu" (OpenCV/numba), "auto" or "cuda" (torch path of engine.gpu)
    window: WindowConfig = field(default_factory=WindowConfig)  # size, fullscreen, overlay...
    controls: bool = True  # speed / variety / range sliders
    keep_log: bool = False  # keep every frame's blend in PlayResult.frames (for the play log);
    #   off by default so that an endless session's memory stays flat
    keep_timings: bool = False  # keep every frame's work time in PlayResult.frame_ms (for stats)
    keep_shown: bool = False  # keep a copy of every shown frame in PlayResult.shown (tests)
    audio: object = None  # engine.audio.AudioConfig: play the clip's sound (issue 18) when
    #   `play(..., sound=...)` gets it; None: silent
    keep_audio: bool = False  # keep the whole sound played in PlayResult.audio (tests, benchmarks)
    speaker: bool | None = None  # send the sound to the sound card; None: unless headless and
    #   unpaced (faster than real time, nobody listens)


@dataclass
class PlayResult:
    """What a run did: the play log entries, per-frame work times and size."""

    frames: list  # one blend per output frame: [[source_index, weight], ...] (when keep_log)
    frame_ms: list  # per-frame work time in ms, update + compose + upload + flip (keep_timings)
    size: tuple[int, int]  # (width, height) of the window played in
    jumps: int = 0
    played: int = 0  # output frames shown
    shown: list = field(default_factory=list)  # copies of the shown frames when keep_shown
    audio_frames: list = field(default_factory=list)  # per output frame, the sound's
    #   description (engine.audio; the play log's "audio") when keep_log and sound plays
    audio: np.ndarray | None = None  # (S, 2) int16, the sound played, when keep_audio
    audio_rate: int | None = None
    audio_note: str = ""  # why there is no sound, or what the sound did (the speaker's drops)


def _transitions_text(playback: Playback, transitions: str) -> str:
    """The transition in force now: `t` switches between a cut and the fade."""
    fade = playback.config.fade_frames
    if fade <= 1:
        return "cut"
    return f"{transitions} over {fade} frames"


def _range_text(playback: Playback) -> str:
    frame_range = playback.config.frame_range
    return "all" if frame_range is None else f"{frame_range[0]}-{frame_range[1] - 1}"


def _overlay_lines(playback: Playback, fps_measured: float, transitions: str) -> list[str]:
    """The status overlay (Tab), from the live state; the sliders read the same numbers."""
    config = playback.config
    blend = playback.current_blend()
    return [
        f"{fps_measured:5.1f} fps   frame {playback.current_frame} / {playback.texture.n_frames}"
        + ("   paused" if playback.paused else ""),
        f"jumps {playback.jumps}   blend {len(blend)}-way   {_transitions_text(playback, transitions)}",
        f"speed {config.speed:.2f}x   variety {config.variety:.2f}   range {_range_text(playback)}"
        f"   seed {config.seed}",
    ]


def _add_controls(window: Window, playback: Playback) -> None:
    config = playback.config
    last = playback.texture.n_frames - 1
    window.add_slider("speed", label="speed", value=config.speed, value_range=(0.1, 4.0), fmt="{:.2f}x")
    # variety on a log scale: slider -1..1 is variety 0.1..10; it reads the variety itself
    window.add_slider("variety", label="variety", value=math.log10(config.variety),
                      value_range=(-1.0, 1.0), display=lambda value: f"{10.0 ** value:.2f}")
    # the range in frames, both ends included, as the overlay says it ("range 12-45")
    start, stop = config.frame_range or (0, last + 1)
    frame = lambda value: f"{int(round(value))}"  # noqa: E731
    window.add_slider("range_start", label="from", value=start, value_range=(0, last),
                      display=frame, step=1)
    window.add_slider("range_stop", label="to", value=stop - 1, value_range=(0, last),
                      display=frame, step=1)


def _apply_slider(playback: Playback, window: Window, name: str, value: float) -> None:
    last = playback.texture.n_frames - 1
    if name == "speed":
        playback.set_speed(max(0.1, value))
    elif name == "variety":
        playback.set_variety(10.0 ** value)
    elif name in ("range_start", "range_stop"):
        first = int(round(window.slider_value("range_start")))
        final = int(round(window.slider_value("range_stop")))
        # crossed ends are not swapped behind the user's back: the other end is pushed along, on
        # screen, keeping at least two frames (a range of one frame has no way on)
        if name == "range_start" and final < first + 1:
            first = min(first, last - 1)
            final = first + 1
        elif name == "range_stop" and first > final - 1:
            final = max(final, 1)
            first = final - 1
        window.set_slider_value("range_start", first)
        window.set_slider_value("range_stop", final)
        stop = final + 1
        playback.set_frame_range(None if (first, stop) == (0, last + 1) else (first, stop))


def _apply_key(playback: Playback, window: Window, name: str, state: dict) -> None:
    if name == "m":
        state["muted"] = not state.get("muted", False)
        speaker = state.get("speaker")
        if speaker is not None:
            speaker.set_muted(state["muted"])
        window.say("sound off" if state["muted"] else
                   ("sound on" if state.get("sound") else "no sound to play"))
    elif name == "space":
        playback.pause()
    elif name in ("right", "."):
        playback.step()
    elif name == "backspace":
        playback.restart()
    elif name == "n":
        playback.restart(seed=playback.config.seed + 1)
        window.say(f"seed {playback.config.seed}")
    elif name in ("up", "down"):
        speed = min(4.0, max(0.1, playback.config.speed * (1.25 if name == "up" else 0.8)))
        playback.set_speed(speed)
        if window.has_slider("speed"):
            window.set_slider_value("speed", speed)
    elif name in ("+", "=", "-", "[+]", "[-]"):
        variety = min(10.0, max(0.1, playback.config.variety * (1.25 if name in ("+", "=", "[+]") else 0.8)))
        playback.set_variety(variety)
        if window.has_slider("variety"):
            window.set_slider_value("variety", math.log10(variety))
    elif name == "t" and state["fades"]:
        fade = 0 if playback.config.fade_frames > 1 else state["fade_frames"]
        playback.set_fade_frames(fade)
        window.say(_transitions_text(playback, state["transitions"]))


def play(texture: VideoTexture, *, playback: PlaybackConfig = PlaybackConfig(),
         config: PlayerConfig = PlayerConfig(), flows=None, on_frame=None, clock=None,
         sound=None, state_frame=None, cuts=None) -> PlayResult:
    """Run the player. `flows` (precompute.flows.LinkFlows) is needed for transitions="morph"
    (computed here when None). `on_frame(index, blend, window)` is called after each frame.
    `sound`: the clip's sound (precompute.bundle.ClipAudio: samples (S, 2) int16 and rate),
    played along the chain when `config.audio` is set (engine.audio.PlayerSound);
    `state_frame` maps a texture state to a clip frame for it (generated bridge states).
    `clock(fps) -> seconds since the previous frame` paces the loop (fps None: do not wait);
    default: the window's `tick`, on the wall clock. Tests pass their own, so time is exact.
    `cuts(i, j) -> bool`: jumps shown as cuts whatever the fade (`--transitions auto`)."""
    if config.frames is not None and config.frames < 1:
        raise ConfigError(f"frames must be >= 1, got {config.frames}")
    from engine.renderers import transition

    renderer = transition(config.transitions)
    if renderer.fade_frames(playback.fade_frames) != playback.fade_frames:  # the fade policy
        playback = replace(playback, fade_frames=renderer.fade_frames(playback.fade_frames))
    if renderer.needs_flows and flows is None:
        from precompute.flows import link_flows

        flows = link_flows(texture.frames, texture.link_offsets, texture.link_targets,
                           link_probabilities=texture.link_probabilities(variety=playback.variety))
    compositor = make_compositor(texture.frames, transitions=config.transitions, device=config.device,
                                 flows=flows, fade_frames=playback.fade_frames)
    state = Playback(texture, playback, cuts=cuts)
    fps = config.display_fps or texture.fps
    paced = (not config.headless) if config.paced is None else config.paced
    window_config = config.window
    if config.headless and not window_config.headless:
        window_config = replace(window_config, headless=True)
    if window_config.record_fps != fps:
        window_config = replace(window_config, record_fps=fps)
    window = Window(window_config).open(texture.frame_size)
    window.set_help(APP_KEYS_HELP)
    if config.controls:
        _add_controls(window, state)
    # `t` toggles cut / fade for renderers that fade; the morph's flows are per fade, so it keeps its own
    key_state = {"transitions": "crossfade" if config.transitions == "cut" else config.transitions,
                 "fades": not renderer.needs_flows, "fade_frames": max(2, playback.fade_frames)}
    clock = clock or window.tick
    prefetch = getattr(texture.frames, "prefetch", None)  # a proxy store decodes ahead of play
    result = PlayResult(frames=[], frame_ms=[], size=window.size)
    player_sound, speaker, kept_audio = _open_sound(sound, config, texture, fps, window, paced,
                                                    state_frame, result)
    key_state["sound"] = player_sound is not None
    key_state["speaker"] = speaker
    dt_s = 1.0 / fps
    measured_fps = fps
    index = 0
    try:
        while window.is_open and (config.frames is None or index < config.frames):
            started = time.perf_counter()
            for event in window.poll():
                if event.kind == "quit":
                    window.close()
                elif event.kind == "slider":
                    _apply_slider(state, window, event.name, event.value)
                elif event.kind == "key":
                    _apply_key(state, window, event.name, key_state)
            if not window.is_open:
                break
            if index > 0:
                state.update(dt_s)
            if prefetch is not None:  # the next second of the path, drawn ahead of time
                prefetch(state.upcoming_sources(int(texture.fps * state.config.speed) + 8))
                if index == 0:  # the first frames: let the read-ahead start before showing
                    texture.frames.wait_prefetched(timeout=1.0)
            blend = state.current_blend()
            shown = compositor.compose(blend)
            overlay = (_overlay_lines(state, measured_fps, key_state["transitions"])
                       if window.overlay_visible else None)
            if player_sound is not None:  # this frame's sound, made as it is shown
                entry, chunk = player_sound.frame(index, state)
                if speaker is not None:
                    speaker.play(chunk)
                if config.keep_log:
                    result.audio_frames.append(entry)
                if kept_audio is not None:
                    kept_audio.append(chunk)
            window.show(shown, overlay=overlay, dt_s=dt_s)
            result.size = window.size
            if config.keep_timings:
                result.frame_ms.append((time.perf_counter() - started) * 1000.0)
            if config.keep_log:
                result.frames.append([[int(f), float(w)] for f, w in blend])
            if config.keep_shown:
                result.shown.append(np.array(shown))
            if on_frame is not None:
                on_frame(index, blend, window)
            index += 1
            waited = clock(fps if paced else None)
            if paced:
                dt_s = waited
                measured_fps = 0.9 * measured_fps + 0.1 / max(waited, 1e-6)
            else:
                dt_s = 1.0 / fps  # headless, unpaced: one clip frame of time per output frame
        result.jumps = state.jumps
        result.played = index
        if kept_audio is not None:
            result.audio = (np.concatenate(kept_audio) if kept_audio
                            else np.zeros((0, 2), np.int16))
        if speaker is not None and speaker.dropped_samples:
            result.audio_note = (f"the sound card ran {speaker.dropped_samples / speaker.rate * 1000:.0f} ms"
                                 " behind in all; that much was skipped to keep it with the picture")
    finally:
        if speaker is not None:
            speaker.close()
        window.close()
    return result


def _open_sound(sound, config: PlayerConfig, texture: VideoTexture, fps: float, window: Window,
                paced: bool, state_frame, result: PlayResult):
    """(PlayerSound or None, Speaker or None, list for the kept sound or None)."""
    if sound is None or config.audio is None or not config.audio.enabled:
        return None, None, None
    from engine.audio import PlayerSound

    player_sound = PlayerSound(sound.samples, rate=sound.rate, fps_clip=texture.fps, fps_out=fps,
                               config=config.audio, state_frame=state_frame)
    result.audio_rate = int(sound.rate)
    speaker = None
    wanted = config.speaker if config.speaker is not None else (paced or not config.headless)
    if wanted:
        from engine.window import Speaker

        try:
            speaker = Speaker(sound.rate)
        except Exception as error:  # pygame.error or OSError: no sound device; play on silent
            result.audio_note = f"no sound device ({error}); playing silent"
            window.say("no sound device: silent")
    return player_sound, speaker, ([] if config.keep_audio else None)


def write_play_log(path: str | os.PathLike, result: PlayResult, *, source: str, fps: float,
                   audio: dict | None = None) -> Path:
    """Write the play log of a run (docs/ARCHITECTURE.md: "framechain-playlog" version 1).
    audio: the sound's header (engine.playlog.audio_header) when sound played."""
    from engine.playlog import write_play_log as write

    if audio is not None and result.audio_frames:
        audio = dict(audio, frames=result.audio_frames)
    else:
        audio = None
    return write(path, result.frames, source=str(source), fps=fps, audio=audio)


def write_stats(path: str | os.PathLike, result: PlayResult, **extra) -> Path:
    """Write `{"frame_ms": [...], "size": [w, h], ...}`."""
    frame_ms = np.asarray(result.frame_ms)
    stats = {"format": "framechain-stats", "frame_ms": [round(v, 4) for v in result.frame_ms],
             "size": list(result.size),
             "frames": len(result.frame_ms), "jumps": result.jumps,
             "mean_ms": float(frame_ms.mean()) if frame_ms.size else 0.0,
             "p99_ms": float(np.percentile(frame_ms, 99)) if frame_ms.size else 0.0, **extra}
    return _write_json(path, stats)


def _write_json(path, payload) -> Path:
    from precompute.files import write_json  # temp file + rename, 0644, no NaN (issue 16)

    return write_json(path, payload, what="--stats")

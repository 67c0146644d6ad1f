"""`framechain play CLIP_OR_ANALYSIS`: endless random play in a window (or headless)."""
from __future__ import annotations

import math
import sys

import numpy as np

NAME = "play"
HELP = ("play a clip as an endless video texture in a window (speed, variety and range sliders; "
        "F1 lists the keys), or headless with --headless --frames N")


def _size(text: str | None):
    if text is None:
        return None
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        from precompute.errors import ConfigError

        raise ConfigError(f"--size must be WIDTHxHEIGHT, e.g. 1280x720, got {text!r}") from None
    if not (16 <= width <= 8192 and 16 <= height <= 8192):
        from precompute.errors import ConfigError

        raise ConfigError(f"--size sides must be 16..8192 px, got {text!r}")
    return width, height


def add_arguments(parser) -> None:
    parser.add_argument("clip", metavar="CLIP_OR_ANALYSIS",
                        help="a video, GIF or image folder (analysed first, or taken from the "
                             "cache), or a saved analysis folder")
    parser.add_argument("--headless", action="store_true",
                        help="no window (SDL dummy driver), unpaced: one clip frame per output frame")
    parser.add_argument("--frames", type=int, metavar="N", help="stop after N output frames")
    parser.add_argument("--stats", metavar="stats.json",
                        help='write per-frame work times: {"frame_ms": [...], "size": [w, h], ...}')
    parser.add_argument("--log", metavar="play.json", help="write the play log (source frames and weights)")
    parser.add_argument("--fade", type=int, default=4, metavar="K",
                        help="crossfade length in frames, centred on each jump (default 4; 0 cuts)")
    from engine.renderers import transition_names

    parser.add_argument("--transitions", choices=transition_names(), default="crossfade",
                        help="how jumps are rendered (morph: optical flow, computed once and stored; "
                             "generated: the bridges of `framechain bridges`, else the morph)")
    parser.add_argument("--seed", type=int, default=0, metavar="N", help="random seed (default 0)")
    parser.add_argument("--speed", type=float, default=1.0, metavar="X",
                        help="play rate, 0.1-4 (default 1; below 1 blends neighbouring frames)")
    parser.add_argument("--variety", type=float, default=1.0, metavar="X",
                        help="sigma multiplier, 0.1-10 (default 1; higher jumps more)")
    parser.add_argument("--range", type=int, nargs=2, metavar=("START", "STOP"),
                        help="stay near frames START..STOP-1 (the paper's Eq. 10)")
    parser.add_argument("--size", metavar="WxH", help="window size (default: the clip's, up to 1280 wide)")
    parser.add_argument("--fullscreen", action="store_true", help="start fullscreen (F11 toggles)")
    parser.add_argument("--paced", action="store_true", help="hold the frame rate even when headless")
    parser.add_argument("--display-fps", type=float, metavar="F",
                        help="output frame rate (default: the clip's)")
    from engine.commands._common import add_device_argument, add_output_arguments

    add_output_arguments(parser, aliases=("--record",), metavar="OUT",
                         help="where the record key (r) writes (default framechain-recording.mp4)")
    add_device_argument(parser, "--render-device",
                        text="where torch work runs: compositing on cpu (numba/OpenCV, the default) "
                             "or auto/cuda (torch), and the analysis' distances (default auto)")
    parser.add_argument("--overlay", action="store_true", help="start with the status overlay on")
    parser.add_argument("--no-controls", action="store_true", help="no sliders")
    from engine.commands._common import add_analysis_arguments, add_audio_arguments

    add_audio_arguments(parser)  # the clip's sound follows the chain (m mutes it)
    add_analysis_arguments(parser)  # used when CLIP is analysed first (the cache keys on them)


def _bridged_log(frames, bridges):
    """Play-log entries over real frames only: a generated state is written as its bridge's
    endpoint blend, and described exactly under "generated" (docs/ARCHITECTURE.md)."""
    blends, generated = [], {}
    for position, blend in enumerate(frames):
        merged: dict[int, float] = {}
        for state, weight in blend:
            if bridges.is_generated(state):
                generated[position] = bridges.describe(state)
            for index, part in bridges.blend_of(state):
                merged[index] = merged.get(index, 0.0) + float(weight) * part
        blends.append(list(merged.items()))
    return blends, generated


def _bridge_sound_frame(bridges, state: int) -> int:
    """The clip frame a texture state sounds as: a generated frame of a bridge i -> exit sounds
    as the nearer end's stream (i + step before its middle, exit - (of + 1 - step) after)."""
    if not bridges.is_generated(state):
        return int(state)
    described = bridges.describe(state)
    first, exit_frame = described["bridge"]
    step, of = described["step"], described["of"]
    if 2 * step <= of + 1:
        return int(min(first + step, bridges.n_frames - 1))
    return int(max(0, exit_frame - (of + 1 - step)))
def _auto_texture(analysis, bridges, texture):
    """`--transitions auto` in play: the chain over real and generated states where only the
    bridges whose stored choice is "generated" are entered (the other bridged links lead to their
    real target again), the jumps into and out of bridges and those chosen "cut" shown as cuts,
    and those chosen "crossfade" given no flow. Returns (texture, cuts, unmorphed pairs)."""
    from engine.texture import VideoTexture

    arrays = bridges.texture_arrays()
    targets = np.array(arrays["link_targets"])  # a copy: the loaded arrays are read-only
    entering = np.asarray(bridges.links["link_bridges"])
    chosen = [bridges.chosen(b) for b in range(bridges.n_bridges)]
    for link in np.flatnonzero(entering >= 0):
        b = int(entering[link])
        if chosen[b] != "generated":
            targets[link] = bridges.targets[b]
    arrays["link_targets"] = targets
    texture = VideoTexture.from_arrays(
        np.concatenate([np.asarray(analysis.frames), np.asarray(bridges.frames)]),
        fps=analysis.fps, sigma=analysis.stats.get("sigma"), source=texture.source, **arrays)
    n_real = bridges.n_frames
    cut_pairs = {(int(bridges.sources[b]), int(bridges.targets[b])) for b, c in enumerate(chosen) if c == "cut"}
    unmorphed = frozenset((int(bridges.sources[b]), int(bridges.targets[b]))
                          for b, c in enumerate(chosen) if c == "crossfade")

    def cuts(i: int, j: int) -> bool:
        return i >= n_real or j >= n_real or (i, j) in cut_pairs

    return texture, cuts, unmorphed


def run(args) -> int:
    from precompute.errors import ConfigError

    if args.headless and args.frames is None:
        raise ConfigError("--headless needs --frames N (there is no window to close)")
    if not (0.1 <= args.speed <= 4.0) or not math.isfinite(args.speed):
        raise ConfigError(f"--speed must be in 0.1..4, got {args.speed}")
    if not (0.1 <= args.variety <= 10.0):
        raise ConfigError(f"--variety must be in 0.1..10, got {args.variety}")
    size = _size(args.size)
    from engine.commands._common import open_analysis, output_plan

    plan = output_plan(args, args.clip)
    plan.add("--stats", args.stats, suffixes=(".json",))
    plan.add("--log", args.log, suffixes=(".json",))
    from precompute.video_io import WRITER_SUFFIXES

    plan.add("-o", args.output, kind="video", suffixes=tuple(WRITER_SUFFIXES))
    plan.check()  # every output before the analysis and the play
    # the engine (numba, pygame, OpenCV) is imported after the checks: a mistyped flag answers
    # at once (issue 15 item 3)
    from engine.player import PlayerConfig, play, write_play_log, write_stats
    from engine.playback import PlaybackConfig
    from engine.texture import VideoTexture
    from engine.window import WindowConfig
    render_device = args.device or "cpu"
    analysis = open_analysis(args.clip, args, progress=not args.headless)
    if args.range and not 0 <= args.range[0] < args.range[1] <= analysis.n_frames:
        raise ConfigError(f"--range must be START STOP with 0 <= START < STOP <= "
                          f"{analysis.n_frames} (the clip's frames), got {args.range[0]} {args.range[1]}")
    texture = VideoTexture.from_analysis(analysis)
    from engine.commands._common import audio_config
    from precompute.bundle import audio_note, load_audio

    audio = audio_config(args)
    sound = load_audio(analysis) if audio.enabled else None
    if audio.enabled and sound is None and not getattr(args, "quiet", False) and \
            analysis.manifest.get("format_version", 3) < 3:  # a clip without sound plays quietly
        print(f"framechain: sound {audio_note(analysis)}", file=sys.stderr)
    bridges, cuts, unmorphed = None, None, frozenset()
    from engine.renderers import transition

    if transition(args.transitions).uses_bridges:
        from precompute.bridges import bridges_message, load_bridges

        bridges = load_bridges(analysis)
        if bridges is None:
            print(f"framechain: {bridges_message(analysis)}", file=sys.stderr)
            args.transitions = "morph"
        elif transition(args.transitions).chooses:  # auto: each bridged jump as its stored choice
            texture, cuts, unmorphed = _auto_texture(analysis, bridges, texture)
        else:  # the chain over real and generated states; a bridge is the transition: no fade
            texture = VideoTexture.from_arrays(
                np.concatenate([np.asarray(analysis.frames), np.asarray(bridges.frames)]),
                fps=analysis.fps, sigma=analysis.stats.get("sigma"), source=texture.source,
                **bridges.texture_arrays())
            args.fade, args.transitions = 0, "cut"
    playback = PlaybackConfig(speed=args.speed, variety=args.variety, fade_frames=args.fade,
                              seed=args.seed, frame_range=tuple(args.range) if args.range else None)
    window = WindowConfig(title=f"framechain - {texture.source or args.clip}", size=size,
                          fullscreen=args.fullscreen, headless=args.headless,
                          show_overlay=args.overlay,
                          **({"record_path": args.output} if args.output else {}))
    config = PlayerConfig(frames=args.frames, headless=args.headless,
                          paced=True if args.paced else None, display_fps=args.display_fps,
                          transitions=args.transitions, device=render_device, window=window,
                          controls=not args.no_controls, keep_log=bool(args.log),
                          keep_timings=bool(args.stats) or args.headless,
                          audio=audio if sound is not None else None)
    state_frame = None
    if bridges is not None:  # a generated state sounds as the clip frame it stands for
        state_frame = lambda state: _bridge_sound_frame(bridges, state)  # noqa: E731
    flows = None
    if transition(args.transitions).needs_flows:
        from precompute.analysis import analysis_flows

        flows = analysis_flows(analysis, progress=not args.headless)
        if unmorphed:  # auto's crossfaded jumps: no flow, so the morph compositor fades them
            from precompute.flows import LinkFlows

            keep = np.array([(int(a) - 1, int(b)) not in unmorphed for a, b in zip(flows.sources, flows.targets)], bool)
            flows = LinkFlows(flows.sources[keep], flows.targets[keep], flows.flows[keep], flows.scale,
                              flows.frame_size)
    result = play(texture, playback=playback, config=config, flows=flows, sound=sound,
                  state_frame=state_frame, cuts=cuts)
    if result.audio_note and not getattr(args, "quiet", False):
        print(f"framechain: {result.audio_note}", file=sys.stderr)
    audio_log = None
    if sound is not None and result.audio_frames:
        from engine.playlog import audio_header

        audio_log = dict(audio_header(rate=sound.rate, channels=sound.samples.shape[1],
                                      fade_ms=audio.fade_ms, source_samples=sound.samples.shape[0]),
                         frames=result.audio_frames)
    if args.log and bridges is not None:
        from engine.playlog import write_play_log as write_blends

        blends, generated = _bridged_log(result.frames, bridges)
        write_blends(args.log, blends, source=texture.source or args.clip,
                     fps=args.display_fps or texture.fps, generated=generated, audio=audio_log)
    elif args.log:
        write_play_log(args.log, result, source=texture.source or args.clip,
                       fps=args.display_fps or texture.fps,
                       audio={k: v for k, v in audio_log.items() if k != "frames"} if audio_log else None)
    if args.stats:
        write_stats(args.stats, result, transitions=args.transitions, device=render_device,
                    fps=args.display_fps or texture.fps)
    if args.headless:
        frame_ms = sorted(result.frame_ms)
        p99 = frame_ms[min(len(frame_ms) - 1, int(0.99 * len(frame_ms)))]
        print(f"played {result.played} frames at {result.size[0]}x{result.size[1]}, "
              f"{result.jumps} jumps; work per frame mean {sum(frame_ms) / len(frame_ms):.2f} ms, "
              f"p99 {p99:.2f} ms")
    return 0

"""Shared CLI vocabulary (issue 15 item 2) and checks (issue 16).

One spelling per meaning, for every command:
- `-o/--output` where a command writes (the old `--out` stays as a hidden alias), `--force` to
  replace a file framechain did not write (`add_output_arguments`);
- the analysis settings on every command that may analyse (`add_analysis_arguments`), with
  `--input-fps` for an image folder's rate (`--fps` there is kept as a hidden alias where the
  command has no output rate), `--allow-truncated`, and `--device auto|cpu|cuda`: where torch
  work runs (the old `--model-device` / `--render-device` are hidden aliases);
- `--quiet` everywhere (engine.cli adds it where a command lacks it).

`check_numbers` checks every numeric option for a finite value in its range before any work,
and names the flag as typed (`LIMITS`); `check_output_size` asks for `--force` above
`MAX_OUTPUT_PIXELS`.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math

from precompute.config import AnalysisConfig
from precompute.errors import ConfigError

_FLAGS = {  # flag -> (config field, type, help)
    "--feature-width": ("feature_width", int, "analysis feature width in px"),
    "--filter-taps": ("filter_half_taps", int, "dynamics filter half-length m (0, 1 or 2)"),
    "--alpha": ("alpha", float, "future-cost discount (0.99-0.999)"),
    "--power": ("power", float, "cost exponent p"),
    "--form": ("future_form", str, "future cost form: min or expected"),
    "--sigma-scale": ("sigma_scale", float, "variety: sigma as a multiple of the mean cost"),
    "--max-jump-cost": ("max_jump_cost", float, "largest jump kept, in median natural steps"),
    "--max-links": ("max_links_per_frame", int, "most links per frame"),
    "--calm-jump-motion": ("calm_jump_motion", float, "jump only where steps stay below this many median steps (0: off)"),
    "--store-max-height": ("store_max_height", int, "frame store height cap in px"),
}


@dataclasses.dataclass(frozen=True)
class Limit:
    """The range a numeric option accepts; `low_open`/`high_open`: that end itself is refused."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def accepts(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        return (f"{'(' if self.low_open else '['}{_number(self.low)}, {_number(self.high)}"
                f"{')' if self.high_open else ']'}")


def _number(value: float) -> str:
    """4294967295, not 4.29497e+09; 0.1, not 0.1000000001."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


_RATE = Limit(0, 1000, low_open=True)  # frames per second, input or output
_SECONDS = Limit(0, 86400, low_open=True)  # a day: more is a typo (and the size check asks first)
_SEED = Limit(0, 2**32 - 1)  # numpy's SeedSequence takes no negative seed
_COUNT = Limit(1, 10**9)
# Ranges by flag (every command gives a flag the same meaning); (command, flag) where one
# differs. A numeric flag not listed here is still checked for a finite value.
LIMITS = {
    "--feature-width": Limit(4, 4096), "--filter-taps": Limit(0, 2), "--alpha": Limit(0, 1, True, True),
    "--power": Limit(0, 10, True), "--sigma-scale": Limit(0, 100, True),
    "--max-jump-cost": Limit(0, 1000, True), "--max-links": Limit(1, 1000),
    "--calm-jump-motion": Limit(0, 1000), "--store-max-height": Limit(8, 8640),
    "--input-fps": _RATE, "--fps": _RATE, "--display-fps": _RATE, "--seconds": _SECONDS,
    "--seed": _SEED, "--fade": Limit(0, 64), "--frames": _COUNT, "--jobs": Limit(1, 1024),
    "--best": Limit(0, 10**6), "--max-seconds": _SECONDS, "--rows": Limit(1, 10**4),
    "--primitives": Limit(1, 1000), "--speed": Limit(0.1, 4), "--variety": Limit(0.1, 10),
    "--range": Limit(0, 10**9), "--low": Limit(0, 255), "--high": Limit(0, 255),
    "--audio-fade": Limit(0, 1000),  # ms: the sound's crossfade at jumps (issue 18)
    "--subject": Limit(0, 10**4), "--directions": Limit(1, 360), "--scale": Limit(0, 100, True),
    "--sprites": Limit(1, 1000), "--temperature": Limit(0, 1000), "--duration": Limit(0, 86400, True),
    "--train-minutes": Limit(0, 10080, True), "--bridge-frames": Limit(1, 64),
    "--links-per-frame": Limit(1, 64), "--max-store-mb": Limit(1, 10**7), "--max-frames": Limit(8, 10**9),
    "--width": Limit(16, 8192), "--max-jumps": Limit(1, 10**9),
    ("steer", "--speed"): Limit(0.1, 10),
    "--ground-speed": Limit(0, 100000, low_open=True),  # background px/s: more is a typo
    "--port": Limit(0, 65535), "--jpeg-quality": Limit(0, 100),
    "--speedup": Limit(1, 16),  # hyperlapse: at most half its 32-frame selection window
}

# A requested output above this many pixels (frames x width x height) asks for --force: about
# 2.7 minutes of 1080p at 30 fps, or 36 minutes of 320x240. Longer jobs are possible, not silent.
MAX_OUTPUT_PIXELS = 10_000_000_000


# The loop search takes time as the square of the loop length (O(L^2 K^2)): about 2 s at 3,000
# frames, 20 s at 10,000, minutes above 20,000 on this project's 2-core machine. Longer asks
# for --force (and Ctrl-C stops it at once either way).
MAX_LOOP_FRAMES = 20_000


@contextlib.contextmanager
def fewer_collections(young_objects: int = 20_000):
    """Python's cyclic collector runs less often inside (restored after): numba's import makes
    ~300,000 objects, and the default thresholds (a young collection every 700 allocations, an
    old one whenever the old generation grew by a quarter) walk them again and again, ~0.1 s of
    CPU in a 1.5 s analysis (issue 17). The work inside makes few reference cycles."""
    import gc

    before = gc.get_threshold()
    gc.set_threshold(young_objects, 50, 50)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def check_loop_length(frames: int, *, force: bool, what: str) -> None:
    if frames > MAX_LOOP_FRAMES and not force:
        raise ConfigError(f"{what}: a loop of {frames} frames; the search for one takes minutes to "
                          f"hours above {MAX_LOOP_FRAMES} frames. Ask for less, use --mode random "
                          "(export), or pass --force")


def check_numbers(parser: argparse.ArgumentParser, args: argparse.Namespace, command: str = "") -> None:
    """Every int/float option of `parser` that was given: finite and in its range (`LIMITS`).
    ConfigError names the flag as the user typed it."""
    for action in parser._actions:  # argparse keeps no public list of a parser's options
        if action.type not in (int, float) or not action.option_strings:
            continue
        value = getattr(args, action.dest, None)
        if value is None:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        flag = _typed_flag(action)
        limit = LIMITS.get((command, flag)) or LIMITS.get(flag)
        for item in values:
            if not math.isfinite(item):
                raise ConfigError(f"{flag} must be a finite number, got {item}")
            if limit is not None and not limit.accepts(item):
                raise ConfigError(f"{flag} must be in {limit.describe()}, got {_number(item)}")


def _typed_flag(action) -> str:
    """The long spelling the user most likely typed (the one shown in --help)."""
    longs = [s for s in action.option_strings if s.startswith("--")]
    return longs[0] if longs else action.option_strings[0]


def check_output_size(frames: float, width: int, height: int, *, force: bool, what: str) -> None:
    """Refuse an output of more than MAX_OUTPUT_PIXELS (frames x pixels) unless --force."""
    pixels = float(frames) * width * height
    if pixels > MAX_OUTPUT_PIXELS and not force:
        raise ConfigError(f"{what}: {frames:.0f} frames of {width}x{height} is "
                          f"{pixels / 1e9:.0f} gigapixels, more than the "
                          f"{MAX_OUTPUT_PIXELS / 1e9:.0f} allowed without --force; ask for less, "
                          "or pass --force")


# --- outputs ---------------------------------------------------------------------------------
VIDEO_OUTPUT_HELP = ("output path; its extension picks the format (.mp4 .webm .gif .png), "
                     "no extension writes numbered PNGs into a folder")  # export, hyperlapse


def add_output_arguments(parser: argparse.ArgumentParser, *, help: str, required: bool = False,
                         metavar: str = "OUT", default=None, aliases=("--out",)) -> None:
    """`-o/--output` (old spellings as hidden aliases) and `--force`. `required` is checked by
    `require_output`, so that an alias satisfies it too."""
    text = help + (" (required)" if required else "")
    parser.add_argument("-o", "--output", default=default, metavar=metavar, help=text)
    for alias in aliases:
        parser.add_argument(alias, dest="output", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    add_force_argument(parser)
    parser.set_defaults(_output_required=required)


def add_force_argument(parser: argparse.ArgumentParser) -> None:
    if "--force" not in parser._option_string_actions:
        parser.add_argument("--force", action="store_true",
                            help="replace existing files that framechain did not write, and allow "
                                 "outputs above the size limit")


def require_output(args: argparse.Namespace) -> None:
    if getattr(args, "_output_required", False) and not getattr(args, "output", None):
        raise ConfigError("-o/--output is required: give the path to write")


def output_plan(args: argparse.Namespace, *inputs):
    """An OutputPlan over the command's inputs (those that are files or folders), with --force."""
    from precompute.files import OutputPlan

    return OutputPlan(inputs=[p for p in inputs if p], force=getattr(args, "force", False))


# --- analysis --------------------------------------------------------------------------------
def add_audio_arguments(parser) -> None:
    """The sound's flags (issue 18), the same on play and export."""
    parser.add_argument("--no-audio", action="store_true",
                        help="leave the clip's sound out (default: play or export it where the "
                             "clip has sound and the output carries it)")
    parser.add_argument("--audio-fade", type=float, default=50.0, metavar="MS",
                        help="the sound's crossfade at each jump, 0-1000 ms, centred "
                             "on the picture's (default 50; 100-200 for noise-like sound)")


def audio_config(args):
    """engine.audio.AudioConfig from --no-audio and --audio-fade."""
    from engine.audio import AudioConfig

    return AudioConfig(fade_ms=float(args.audio_fade), enabled=not args.no_audio)


def add_analysis_arguments(parser: argparse.ArgumentParser, *, fps_alias: bool = True) -> None:
    """The analysis settings (a clip is analysed, or found in the cache, with them), the image
    folder rate `--input-fps` (`--fps` too where the command has no output rate: `fps_alias`),
    `--allow-truncated` and `--device`."""
    group = parser.add_argument_group("analysis settings (precompute/config.py says which way to "
                                      "turn each)")
    defaults = AnalysisConfig()
    for flag, (field, kind, text) in _FLAGS.items():  # None: "not given", so the cache key and
        # an analysis folder's own settings are not overridden by a default
        group.add_argument(flag, type=kind, default=None,
                           help=f"{text} (default {getattr(defaults, field)})")
    group.add_argument("--equalize", action="store_true", default=None,
                       help="equalise brightness before comparing frames")
    group.add_argument("--store", choices=("raw", "proxy", "auto"), default=None,
                       help="where the display frames go: raw (uint8 frames, fastest to read), "
                            "proxy (short-GOP H.264 with an index, decoded ahead of play: for "
                            "long clips) or auto (the proxy above a 2 GiB raw store; the default)")
    spellings = ("--input-fps", "--fps") if fps_alias else ("--input-fps",)
    group.add_argument(*spellings, dest="input_fps", type=float, default=None, metavar="F",
                       help="frame rate of an image folder (default 30), or an override of a video's")
    group.add_argument("--allow-truncated", action="store_true",
                       help="analyse a damaged or cut-short video from the frames that decode "
                            "(a warning says how many), instead of refusing it")
    add_device_argument(parser)


def add_device_argument(parser: argparse.ArgumentParser, *aliases: str, default=None,
                        text: str = "") -> None:
    """`--device auto|cpu|cuda`: where torch work runs (analysis distances, compositing, the
    in-between model). Old spellings as hidden aliases."""
    if "--device" in parser._option_string_actions:
        return
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default=default,
                        help=text or "where torch work runs: auto (CUDA when present), cpu or cuda")
    for alias in aliases:
        parser.add_argument(alias, dest="device", choices=("auto", "cpu", "cuda"),
                            default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def add_quiet_argument(parser: argparse.ArgumentParser) -> None:
    if "--quiet" not in parser._option_string_actions:
        parser.add_argument("--quiet", action="store_true", help="no progress bars")


def config_from_args(args: argparse.Namespace) -> AnalysisConfig:
    values = {field: getattr(args, flag[2:].replace("-", "_"), None)
              for flag, (field, _, _) in _FLAGS.items()}
    if getattr(args, "equalize", None):
        values["equalize_brightness"] = True
    if getattr(args, "device", None):
        values["device"] = args.device
    if getattr(args, "store", None):
        values["store"] = args.store
    values = {k: v for k, v in values.items() if v is not None}
    try:
        return dataclasses.replace(AnalysisConfig(), **values)
    except ConfigError as error:  # a combination the ranges above let through: name the flags
        given = ", ".join(flag for flag, (field, _, _) in _FLAGS.items() if field in values)
        raise ConfigError(f"the analysis settings ({given}) are not valid together: "
                          f"{str(error).split(' (got ')[0]}") from None


def open_analysis(path: str, args: argparse.Namespace | None = None, *, progress: bool = True):
    """An analysis folder, or a clip analysed (or taken from the cache) with the given flags."""
    from precompute.files import check_input

    check_input(path)  # a missing or unreadable path answers before numba loads (issue 15 item 3)
    from precompute.analysis import analysis_for

    config = config_from_args(args) if args is not None and hasattr(args, "alpha") else None
    fps = getattr(args, "input_fps", None) if args is not None else None
    allow = bool(getattr(args, "allow_truncated", False)) if args is not None else False
    quiet = bool(getattr(args, "quiet", False)) if args is not None else False
    return analysis_for(path, config, fps=fps, progress=progress and not quiet,
                        allow_truncated=allow)

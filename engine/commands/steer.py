"""`framechain steer`: a video sprite that swims where it is told.

Scripted and headless (what the outside check measures):
    framechain steer [SPRITE_OR_SET_OR_CLIP] --targets targets.json --headless --log steer.json [-o video]
moves a virtual mouse through `targets.json` (a JSON list of {"t": seconds, "x": px, "y": px} in
background pixels; the target at time t is the latest one listed at or before t) and writes
`steer.json`: {"fps": ..., "frames": [{"frame", "x", "y", "vx", "vy", "target_x", "target_y"}, ...]},
one entry per output frame (sprite frame index, position in background px, velocity in px per
frame). Without SPRITE_OR_SET_OR_CLIP it steers the embedded procedural fish over a 1280x720 pond.
With several sprites (`--sprites N`, or a sprite set) "frames" follows the first and "sprites"
holds every sprite's log: [{"subject": folder name or null, "frames": [...]}, ...].

A sprite set (`framechain sprite CLIP --all -o FOLDER`: one sprite per subject) is a school of
different subjects: each subject is its own texture, `--sprites N` spreads N sprites over the
subjects round robin (default: one per subject), and all chase the target and keep apart (the
anti-collision sees positions, whatever the texture). One display scale serves the whole set (the
largest subject fits a third of the background), so the subjects keep their relative sizes.

Interactive (without --headless): the fish follows the mouse; sliders set the speed (playback
rate and travel together) and the number of fish (one shared texture; they keep apart); a click
drops a target that holds until the next click (a right click follows the mouse again); the
overlay (Tab) shows the fish, the frame, the speed and the display's frames per second.

The default display scale is 1.2 for the fish and 2 for extracted sprites, reduced so that the
subject is at most a third of the background's height. A subject that moves in place (a walk
cycle on a treadmill or a green screen, precompute/gait.py) is said so and walked: it moves at
`--ground-speed` (background px/s; default the treadmill's own speed times the scale, so the
stride matches the travel) the way it faces, mirrored for the other way.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

NAME = "steer"
HELP = "steer a video sprite (default: the embedded fish) with the mouse or scripted targets"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sprite", nargs="?", default=None,
                        help="a sprite folder (framechain sprite), a sprite set (sprite --all: one texture per "
                             "subject) or a clip to extract one from; "
                             "default: the embedded procedural fish")
    parser.add_argument("--clip", default=None, help="real footage to extract the sprite from")
    parser.add_argument("--targets", default=None, help='JSON list of {"t", "x", "y"} (s, px)')
    parser.add_argument("--headless", action="store_true", help="no window: run the targets and exit")
    parser.add_argument("--log", default=None, help="write the steering log (JSON) here")
    from engine.commands._common import add_output_arguments

    add_output_arguments(parser, help="also write the composited video (.mp4, .webm...)")
    parser.add_argument("--background", default=None,
                        help="background image, or a clip played as a video texture (default: a pond)")
    parser.add_argument("--size", default="1280x720", help="background size WxH when none is given")
    parser.add_argument("--scale", type=float, default=None,
                        help="sprite display scale (default 1.2 for the fish, 2 for extracted sprites, "
                             "at most what makes the subject a third of the background's height)")
    parser.add_argument("--ground-speed", type=float, default=None, metavar="PX_PER_S",
                        help="a subject walking in place: its travel in background px/s (default: its "
                             "gait's own, from the treadmill speed and the scale: the stride matches)")
    parser.add_argument("--sprites", type=int, default=None,
                        help="how many sprites (they keep apart; the log's \"frames\" follows the first); "
                             "a sprite set spreads them over its subjects round robin (default: 1, or "
                             "one per subject of a set)")
    parser.add_argument("--mode", choices=("future", "greedy", "random"), default="future",
                        help="frame choice: future costs (default), greedy, or no control")
    parser.add_argument("--temperature", type=float, default=0.0,
                        help="variety of the choice, in natural steps (0 = always the best)")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="speed factor (the slider): scales the playback rate, and travel with it")
    parser.add_argument("--duration", type=float, default=None,
                        help="seconds to run headless (default: the last target's time + 5 s)")
    parser.add_argument("--start", default=None, help="start position X,Y (default: the centre)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (each sprite gets its own stream)")
    parser.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                        help="add left-right mirrored frames (default: yes for a subject that travels, no for one walking in place)")


def _read_targets(path: str) -> list[dict]:
    from precompute.errors import ConfigError
    from precompute.files import check_input

    check_input(path, what="--targets", hint='give a JSON list of {"t", "x", "y"}')
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise ConfigError(f"--targets {path}: cannot read it ({error.strerror}); check the path") from None
    except ValueError as error:
        raise ConfigError(f"--targets {path}: not JSON ({error}); give a list of {{\"t\", \"x\", \"y\"}}") from None
    if not isinstance(data, list) or not data:
        raise ConfigError(f"--targets {path}: expected a non-empty JSON list of {{\"t\", \"x\", \"y\"}}, "
                          f"got {type(data).__name__}")
    targets = []
    for k, item in enumerate(data):
        try:
            targets.append({"t": float(item["t"]), "x": float(item["x"]), "y": float(item["y"])})
        except (TypeError, KeyError, ValueError, OverflowError):
            raise ConfigError(f"--targets {path}: entry {k} is {item!r}; each needs numbers t, x, y") from None
        target = targets[-1]  # NaN, 1e300 or a time a day away would run for ever or log Infinity
        if not (0 <= target["t"] <= _MAX_SECONDS):
            raise ConfigError(f"--targets {path}: entry {k} has t = {target['t']:g}; times must be "
                              f"seconds in 0..{_MAX_SECONDS}")
        if not all(abs(target[key]) <= _MAX_PIXELS for key in ("x", "y")):
            raise ConfigError(f"--targets {path}: entry {k} has x, y = {target['x']:g}, {target['y']:g}; "
                              f"positions must be pixels within +-{_MAX_PIXELS:g}")
    return targets


_MAX_SECONDS = 86400  # a steering course of more than a day is a typo
_MAX_PIXELS = 1e6  # a target further than this from the background is a typo
_MAX_SIDE = 16384  # px: the largest background --size


class _Background:
    """The background: a fixed image, or a playing video texture (frame per update)."""

    def __init__(self, spec: str | None, size: tuple[int, int], *, seed: int):
        import numpy as np

        from precompute.errors import ClipError

        self.playback = None
        if spec is None:
            from assets.fish import pond_background

            self.image = pond_background(*size)
            return
        path = Path(spec)
        if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".webp") and path.is_file():
            import cv2

            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is None:
                raise ClipError(f"--background {spec}: not a readable image")
            self.image = np.ascontiguousarray(image[:, :, ::-1])
            return
        from engine.commands._common import open_analysis
        from engine.playback import Playback, PlaybackConfig
        from engine.render import make_compositor
        from engine.texture import VideoTexture

        texture = VideoTexture.from_analysis(open_analysis(spec, progress=True))
        self.playback = Playback(texture, PlaybackConfig())
        self.compositor = make_compositor(texture.frames)
        self.image = np.ascontiguousarray(self.compositor.compose(self.playback.current_blend()))

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[0]

    def update(self, dt_s: float):
        if self.playback is not None:
            self.playback.update(dt_s)
            self.image = self.compositor.compose(self.playback.current_blend())
        return self.image


def _start(text: str) -> tuple[float, float]:
    import math

    from precompute.errors import ConfigError

    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--start must be X,Y in pixels, e.g. 640,360, got {text!r}") from None
    if not (math.isfinite(x) and math.isfinite(y) and abs(x) <= _MAX_PIXELS and abs(y) <= _MAX_PIXELS):
        raise ConfigError(f"--start must be finite pixels within +-{_MAX_PIXELS:g}, got {text!r}")
    return x, y


def _scale(textures, args, size) -> float:
    """One display scale for every texture: the default fits the largest subject (a set's subjects
    keep their relative sizes)."""
    from engine.sprite import default_scale

    if args.scale is not None:
        return args.scale
    preferred = 1.2 if args.sprite is None and args.clip is None else 2.0
    return min(default_scale(texture, size[1], preferred=preferred) for texture in textures)


def _make_sprites(textures, args, size):
    """args.sprites instances (default: one per texture), spread over `textures` (one
    SpriteTexture or a list: a set's subjects) round robin."""
    import numpy as np

    from engine.sprite import Sprite, SpriteState, SpriteTexture, SteeringConfig

    textures = [textures] if isinstance(textures, SpriteTexture) else list(textures)
    width, height = size
    scale = _scale(textures, args, size)
    count = args.sprites if args.sprites is not None else len(textures)
    config = SteeringConfig(mode=args.mode, temperature=args.temperature, ground_speed_px_s=args.ground_speed)
    if args.start:
        x, y = _start(args.start)
    else:
        x, y = width / 2, height / 2
    streams = np.random.SeedSequence(args.seed).spawn(max(1, count))
    sprites = []
    for k, stream in enumerate(streams):  # each instance: own state, own generator
        texture = textures[k % len(textures)]
        rng = np.random.default_rng(stream)
        offset = (0.0, 0.0) if k == 0 else (rng.uniform(-0.3, 0.3) * width, rng.uniform(-0.3, 0.3) * height)
        state = SpriteState(x=x + offset[0], y=y + offset[1], frame=int(rng.integers(texture.n_frames)) if k else 0,
                            scale=scale, speed_factor=args.speed, rng=rng)
        sprites.append(Sprite(texture, state, config))
    return sprites


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from engine.sprite import SpriteTexture, composite, sprite_for, sprite_set_for, steer_course, steer_group
    from precompute.control import is_sprite_set
    from precompute.errors import ConfigError
    from precompute.sprites import ExtractionConfig

    from engine.commands._common import check_output_size, output_plan
    from precompute.video_io import WRITER_SUFFIXES

    if args.headless and not args.targets:
        raise ConfigError("--headless needs --targets targets.json (the virtual mouse's course)")
    try:
        size = tuple(int(v) for v in args.size.lower().split("x"))
        assert len(size) == 2 and 0 < size[0] <= _MAX_SIDE and 0 < size[1] <= _MAX_SIDE
    except (ValueError, AssertionError):
        raise ConfigError(f"--size must be WIDTHxHEIGHT, each 1..{_MAX_SIDE}, got {args.size!r}") from None
    if args.start:
        _start(args.start)
    plan = output_plan(args, args.sprite, args.clip, args.targets, args.background)
    plan.add("-o", args.output, kind="video", suffixes=tuple(WRITER_SUFFIXES))
    plan.add("--log", args.log, suffixes=(".json",))
    plan.check()  # every output and the targets before the sprite is made
    targets = _read_targets(args.targets) if args.targets else None
    if targets and args.duration is None and max(t["t"] for t in targets) + 5.0 > _MAX_SECONDS:
        raise ConfigError(f"--targets {args.targets}: the course ends after {_MAX_SECONDS} s; "
                          "give earlier times or a --duration")
    source = args.clip or args.sprite
    if args.clip is None and args.sprite is not None and is_sprite_set(args.sprite):
        subjects = sprite_set_for(args.sprite)  # one texture per subject: a school of different ones
        names = [name for name, _, _ in subjects]
        textures = [SpriteTexture(sprite, control) for _, sprite, control in subjects]
    else:
        extraction = dataclasses.replace(ExtractionConfig(), mirror=args.mirror)
        names = [None]
        textures = [SpriteTexture(*sprite_for(source, extraction=extraction))]
    texture = textures[0]  # the clock: a set's subjects share one frame rate
    background = _Background(args.background, size, seed=args.seed)
    size = background.size
    sprites = _make_sprites(textures, args, size)
    if not args.quiet:
        for name, shown in zip(names, textures):
            school = [sp for sp in sprites if sp.texture is shown]
            if name is None:
                print(_subject_line(school[0]))
            elif school:  # a set: one line per subject that is on the screen
                print(f"{name} ({len(school)} sprite{'s' if len(school) > 1 else ''}): {_subject_line(school[0])}")
    for shown in textures:  # no resize while playing (a mirror image is a cheap copy)
        shown.prepare(sprites[0].state.scale)
    if not args.headless:
        return _interactive(textures, sprites, background, args)

    duration = args.duration if args.duration is not None else max(t["t"] for t in targets) + 5.0
    frames = max(1, int(round(duration * texture.fps)))
    if args.output:
        check_output_size(frames, size[0], size[1], force=args.force,
                          what=f"-o {args.output} ({duration:g} s)")
    writer = None
    started = time.perf_counter()
    if args.output:
        from precompute.video_io import open_writer

        writer = open_writer(args.output, fps=texture.fps, size=size)
    try:
        if writer is None and len(sprites) == 1:
            logs = [steer_course(sprites[0], targets, frames=frames)]
        else:  # a school (one texture, or one per subject of a set): all chase the course and keep apart
            def draw(_):
                writer.write(composite(background.update(1.0 / texture.fps), sprites))

            logs = steer_group(sprites, targets, frames=frames, on_frame=draw if writer is not None else None)
        log = logs[0]
    except BaseException:
        if writer is not None:
            writer.__exit__(*__import__("sys").exc_info())
        raise
    if writer is not None:
        writer.__exit__(None, None, None)
    if args.log:
        record = {"format": "framechain-steerlog", "format_version": 1, "source": source or "assets.fish",
                  "mode": args.mode, "scale": sprites[0].state.scale, "background_size": list(size),
                  "fps": texture.fps, "frames": log}
        if len(sprites) > 1:  # every sprite of the school, each with its subject (a set's folder name)
            name_of = {id(shown): name for shown, name in zip(textures, names)}
            record["sprites"] = [{"subject": name_of[id(sp.texture)], "frames": sprite_log}
                                 for sp, sprite_log in zip(sprites, logs)]
        from precompute.files import write_json

        write_json(args.log, record, what="--log")  # refuses Infinity/NaN: JSON has neither
    reached = _reached(log, texture.fps)
    print(f"steered {frames} frames ({frames / texture.fps:.1f} s) in {time.perf_counter() - started:.1f} s: "
          f"{reached[0]}/{reached[1]} targets reached within 40 px"
          + (f"; log {args.log}" if args.log else "") + (f"; video {args.output}" if args.output else ""))
    return 0


def _subject_line(sprite) -> str:
    """What the subject is and how it will move: the gait line, and the display scale."""
    from precompute.gait import describe_gait

    texture = sprite.texture
    line = f"subject: {describe_gait(texture.gait, texture.fps)}; display scale {sprite.state.scale:.2f}"
    if texture.gait.walks:
        line += f"; walks at {sprite.ground_speed() * texture.fps:.0f} px/s on the background"
    return line


def _reached(log, fps):
    seen, hit = set(), set()
    for entry in log:
        key = (entry["target_x"], entry["target_y"])
        seen.add(key)
        if (entry["x"] - key[0]) ** 2 + (entry["y"] - key[1]) ** 2 < 40 ** 2:
            hit.add(key)
    return len(hit), len(seen)


class SteerSession:
    """The interactive steer's state, apart from the window (tested without one): the school, the
    target, the speed, the frame rate shown. Loop: handle(event) for each event, then
    frame = update(dt_s), then window.show(frame, overlay=overlay())."""

    def __init__(self, texture, sprites, background, *, make_more=None, speed: float = 1.0):
        from engine.sprite import PointerTarget

        self.texture = texture
        self.sprites = list(sprites)
        self.shown = len(self.sprites)
        self.background = background
        self.make_more = make_more  # count -> that many sprites in all (more instances of the texture)
        self.speed = float(speed)
        width, height = background.size
        self.pointer = PointerTarget((width / 2, height / 2))
        self.fps = float(texture.fps)  # the display's measured rate, smoothed
        self._frame = None
        self.quit = False

    @property
    def target(self) -> tuple[float, float]:
        return self.pointer.target

    def handle(self, event) -> None:
        if event.kind == "quit":
            self.quit = True
        elif event.kind == "mouse_move" and event.pos is not None:
            self.pointer.moved(event.pos)
        elif event.kind == "mouse_down" and event.pos is not None:
            self.pointer.clicked(event.pos, event.value)
        elif event.kind == "slider" and event.name == "speed":
            self.speed = float(event.value)
            for sprite in self.sprites:
                sprite.state.speed_factor = self.speed
        elif event.kind == "slider" and event.name == "fish":
            self.shown = max(1, int(round(event.value)))
            if self.shown > len(self.sprites) and self.make_more is not None:
                more = self.make_more(self.shown)[len(self.sprites):self.shown]
                for sprite in more:
                    sprite.state.speed_factor = self.speed
                self.sprites.extend(more)
            self.shown = min(self.shown, len(self.sprites))

    def update(self, dt_s: float):
        """Advance the school by dt_s seconds and return the composited frame."""
        import numpy as np

        from engine.sprite import composite

        if dt_s > 0:
            self.fps = 0.9 * self.fps + 0.1 / max(dt_s, 1e-6)
        active = self.sprites[:self.shown]
        where = np.array([(sp.state.x, sp.state.y) for sp in active])  # (M, 2) before anyone moves
        for n, sprite in enumerate(active):
            sprite.update(dt_s, self.target, np.delete(where, n, axis=0))
        self._frame = composite(self.background.update(dt_s), active, out=self._frame)
        return self._frame

    def overlay(self) -> list[str]:
        first = self.sprites[0].state
        speed = (first.velocity[0] ** 2 + first.velocity[1] ** 2) ** 0.5
        held = "held" if self.pointer.held is not None else "mouse"
        return [f"fps {self.fps:.1f}", f"fish {self.shown}", f"frame {first.frame}",
                f"speed {speed:.1f} px/frame x{self.speed:.2f}",
                f"target {self.target[0]:.0f}, {self.target[1]:.0f} ({held})"]


def _interactive(textures, sprites, background, args) -> int:
    """The fish follows the mouse. Loop: events -> update(dt) -> composite -> show -> tick.
    textures: the sprites' textures (a set: one per subject; the fish slider adds sprites round
    robin over them); the first one's frame rate is the clock."""
    from engine.window import Window, WindowConfig

    texture = textures[0]
    width, height = background.size
    window = Window(WindowConfig(title="framechain steer", record_fps=texture.fps)).open((width, height))
    window.add_slider("speed", label="speed", value=args.speed, value_range=(0.3, 2.0))
    window.add_slider("fish", label="fish", value=float(len(sprites)),
                      value_range=(1, max(12, len(sprites))))
    window.set_help([("mouse", "the fish swims to the pointer"),
                     ("click", "drop a target (holds until the next click)"),
                     ("right click", "follow the mouse again"), ("Tab", "overlay with fps")])
    extra_args = argparse.Namespace(**vars(args))
    session = SteerSession(texture, sprites, background, speed=args.speed,
                           make_more=lambda count: _make_sprites(
                               textures, argparse.Namespace(**{**vars(extra_args), "sprites": count}),
                               (width, height)))
    dt = 0.0
    try:
        while window.is_open:
            for event in window.poll():
                session.handle(event)
            if session.quit:
                window.close()
            if not window.is_open:
                break
            frame = session.update(dt)
            window.show(frame, overlay=session.overlay(), dt_s=dt or None)
            dt = window.tick(texture.fps)
    finally:
        window.close()
    return 0

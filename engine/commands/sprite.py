"""`framechain sprite CLIP -o SPRITE`: cut a subject out of a clip into a steerable sprite.

Writes the folder SPRITE (manifest.json, sprite.npz: RGBA frames registered on the alpha
centroid, stored cropped, + velocities; control.npz: links and the per-direction future-cost
tables), which `framechain steer SPRITE` plays. `--export FILE.webm|FILE.png` also writes the RGBA
frames as a video with alpha (VP9 webm, or animated PNG).

A sprite is one subject. `--subject N` picks the N-th subject by the frames it is seen whole
(0, the default: the one seen longest); `--pick X,Y[,FRAME]` the one under that pixel of that
frame (default frame 0); `--all -o FOLDER` writes one sprite per subject into FOLDER
(FOLDER/subject-00, subject-01, ... and a manifest.json of format "framechain-sprite-set").
The clip is streamed (three passes), so memory stays about one frame beyond the output.
"""
from __future__ import annotations

import argparse
import time

NAME = "sprite"
HELP = "extract a sprite (subject with alpha + velocities + control tables) from a clip"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("clip", help="video file or image folder with the subject")
    from engine.commands._common import add_output_arguments

    add_output_arguments(parser, required=True, help="sprite folder to write")
    parser.add_argument("--method", choices=("auto", "difference", "chroma"), default="auto",
                        help="matte: difference from a plate, chroma key, or auto (default)")
    parser.add_argument("--key", choices=("green", "blue"), default="green", help="chroma key colour")
    parser.add_argument("--plate", default=None,
                        help="background image for the difference method (default: per-pixel median)")
    parser.add_argument("--low", type=float, default=None, help="difference where alpha starts (0..255)")
    parser.add_argument("--high", type=float, default=None, help="difference where alpha is 1 (0..255)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--subject", type=int, default=None, metavar="N",
                       help="which subject: 0 = the one seen whole longest (default), 1 the next...")
    which.add_argument("--pick", default=None, metavar="X,Y[,FRAME]",
                       help="the subject under pixel X,Y of frame FRAME (default frame 0)")
    which.add_argument("--all", action="store_true",
                       help="one sprite per subject: -o names a folder that receives them all")
    parser.add_argument("--mirror", action=argparse.BooleanOptionalAction, default=None,
                        help="add left-right mirrored frames (default: yes for a subject that travels, no for one walking in place)")
    parser.add_argument("--keep-colourless", action="store_true",
                        help="keep frames whose subject is grey (by default a matte pass is dropped)")
    parser.add_argument("--no-control", action="store_true", help="skip the control analysis")
    parser.add_argument("--directions", type=int, default=None, help="direction tables (default 8)")
    parser.add_argument("--input-fps", "--fps", dest="input_fps", type=float, default=None,
                        metavar="F", help="frame rate of an image folder (default 30), or an override")
    parser.add_argument("--allow-truncated", action="store_true",
                        help="use the frames of a damaged or cut-short video that decode")
    parser.add_argument("--export", default=None,
                        help="also write the RGBA frames as .webm (VP9 alpha) or .png (APNG)")


def _parse_pick(text: str) -> tuple:
    import math

    from precompute.errors import ConfigError

    try:
        parts = [float(v) for v in text.split(",")]
    except ValueError:
        parts = []
    ok = len(parts) in (2, 3) and all(math.isfinite(v) and abs(v) <= 1e6 for v in parts) and \
        (len(parts) == 2 or (parts[2] >= 0 and parts[2] == int(parts[2])))
    if not ok:
        raise ConfigError(f"--pick must be X,Y or X,Y,FRAME (pixels, and a frame number >= 0), "
                          f"e.g. 320,180,0; got {text!r}")
    return tuple(parts[:2]) + ((int(parts[2]),) if len(parts) == 3 else ())


def _describe(sprite) -> str:
    colour = sprite.info.get("subject_colour")
    colour = f", colour {tuple(int(round(c)) for c in colour)}" if colour else ""
    return (f"subject {sprite.info.get('subject', 0)} of {sprite.info.get('subjects', 1)}: "
            f"{sprite.n_frames} frames in {sprite.info['segments']} segments, "
            f"{sprite.size}x{sprite.size} registered{colour}")


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from engine.commands._common import output_plan, require_output
    from precompute.control import ControlConfig, analyze_control, save_sprite, save_sprite_set
    from precompute.bundle import source_identity
    from precompute.errors import ClipError, ConfigError
    from precompute.sprites import ExtractionConfig, extract_sprites
    from precompute.video_io import open_clip, say_notes

    require_output(args)
    if args.all and args.export:
        raise ConfigError("--export writes one sprite's frames; with --all, export each written "
                          "sprite separately (or drop --all)")
    pick = _parse_pick(args.pick) if args.pick is not None else None
    plan = output_plan(args, args.clip, args.plate)
    plan.add("-o", args.output, kind="folder")
    plan.add("--export", args.export, suffixes=(".webm", ".png"))
    plan.check()  # every output before the extraction
    if args.plate:
        from precompute.files import check_input

        check_input(args.plate, what="--plate", hint="give the background plate as PNG/JPEG")
    changes = {"method": args.method, "key": args.key, "subject": args.subject or 0, "pick": pick,
               "mirror": args.mirror, "drop_colourless": not args.keep_colourless}
    if args.low is not None:
        changes["low"] = args.low
    if args.high is not None:
        changes["high"] = args.high
    extraction = dataclasses.replace(ExtractionConfig(), **changes)
    plate = None
    if args.plate:
        import cv2

        image = cv2.imread(args.plate, cv2.IMREAD_COLOR)
        if image is None:
            raise ClipError(f"{args.plate}: not a readable image; give the background plate as PNG/JPEG")
        plate = np.ascontiguousarray(image[:, :, ::-1])
    started = time.perf_counter()
    notes: list = []
    with open_clip(args.clip, fps=args.input_fps, allow_truncated=args.allow_truncated) as reader:
        info = reader.info  # what the header says; the frames are decoded pass by pass below
    if plate is not None and plate.shape[:2] != (info.height, info.width):
        raise ClipError(f"{args.plate}: plate is {plate.shape[1]}x{plate.shape[0]}, the clip "
                        f"{info.width}x{info.height}; give a plate of the clip's size")

    def frames():  # one streaming pass per call: the clip is never held whole
        with open_clip(args.clip, fps=args.input_fps, allow_truncated=args.allow_truncated) as reader:
            yield from reader
            notes[:] = reader.notes

    sprites = extract_sprites(frames, fps=info.fps, config=extraction, plate=plate, every=args.all,
                              progress=not getattr(args, "quiet", False))
    say_notes(notes)
    first = sprites[0]
    print(f"extracted {sum(s.n_frames for s in sprites)} sprite frames from {first.info['source_frames']} "
          f"({first.info['colourless_frames']} matte-pass frames dropped); "
          f"{first.info['subjects']} subjects seen whole")
    config = ControlConfig() if args.directions is None else ControlConfig(directions=args.directions)
    controls = []
    for sprite in sprites:
        print(f"  {_describe(sprite)}")
        control = None
        if not args.no_control:
            control = analyze_control(sprite, config)
            print(f"  control: {control.stats['links']} links, {len(control.directions)} directions x "
                  f"{len(control.speeds)} speeds ({', '.join(f'{v:.2f}' for v in control.speeds)} px/frame)")
        controls.append(control)
    source = source_identity(args.clip)
    if args.all:
        out = save_sprite_set(args.output, sprites, controls, source=source, extraction=extraction)
        print(f"wrote {len(sprites)} sprites into {out} in {time.perf_counter() - started:.1f} s")
        return 0
    out = save_sprite(args.output, first, controls[0], source=source, extraction=extraction)
    print(f"wrote {out} in {time.perf_counter() - started:.1f} s")
    if args.export:
        from precompute.video_io import open_writer

        with open_writer(args.export, fps=first.fps, size=(first.size, first.size), alpha=True) as writer:
            for i in range(first.n_frames):
                writer.write(first.frame(i))
        print(f"wrote {args.export}")
    return 0

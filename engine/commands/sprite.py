"""`framechain sprite CLIP -o SPRITE`: cut a subject out of a clip into a steerable sprite.

Writes the folder SPRITE (manifest.json, sprite.npz: RGBA frames registered on the alpha
centroid + velocities; control.npz: links and the per-direction future-cost tables), which
`framechain steer SPRITE` plays. `--export FILE.webm|FILE.png` also writes the RGBA frames as a
video with alpha (VP9 webm, or animated PNG).
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
    parser.add_argument("--subject", type=int, default=0,
                        help="which subject to follow: 0 = the one seen whole longest, 1 the next...")
    parser.add_argument("--mirror", action="store_true", help="add left-right mirrored frames")
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


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from engine.commands._common import output_plan, require_output
    from precompute.control import ControlConfig, analyze_control, save_sprite
    from precompute.bundle import source_identity
    from precompute.errors import ClipError
    from precompute.sprites import ExtractionConfig, extract_sprite
    from precompute.video_io import decode_clip

    require_output(args)
    plan = output_plan(args, args.clip, args.plate)
    plan.add("-o", args.output, kind="folder")
    plan.add("--export", args.export, suffixes=(".webm", ".png"))
    plan.check()  # every output before the extraction
    if args.plate:
        from precompute.files import check_input

        check_input(args.plate, what="--plate", hint="give the background plate as PNG/JPEG")
    changes = {"method": args.method, "key": args.key, "subject": args.subject, "mirror": args.mirror,
               "drop_colourless": not args.keep_colourless}
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
    frames, info = decode_clip(args.clip, fps=args.input_fps, allow_truncated=args.allow_truncated)
    if plate is not None and plate.shape != frames.shape[1:]:
        raise ClipError(f"{args.plate}: plate is {plate.shape[1]}x{plate.shape[0]}, the clip "
                        f"{frames.shape[2]}x{frames.shape[1]}; give a plate of the clip's size")
    sprite = extract_sprite(frames, fps=info.fps, config=extraction, plate=plate)
    del frames
    print(f"extracted {sprite.n_frames} sprite frames of {sprite.size}x{sprite.size} from "
          f"{sprite.info['source_frames']} ({sprite.info['segments']} segments, "
          f"{sprite.info['colourless_frames']} matte-pass frames dropped)")
    control = None
    if not args.no_control:
        config = ControlConfig() if args.directions is None else ControlConfig(directions=args.directions)
        control = analyze_control(sprite, config)
        print(f"control: {control.stats['links']} links, {len(control.directions)} directions x "
              f"{len(control.speeds)} speeds ({', '.join(f'{s:.2f}' for s in control.speeds)} px/frame)")
    out = save_sprite(args.output, sprite, control, source=source_identity(args.clip), extraction=extraction)
    print(f"wrote {out} in {time.perf_counter() - started:.1f} s")
    if args.export:
        from precompute.video_io import open_writer

        with open_writer(args.export, fps=sprite.fps, size=(sprite.size, sprite.size), alpha=True) as writer:
            for frame in sprite.rgba:
                writer.write(frame)
        print(f"wrote {args.export}")
    return 0

"""Fish demo: koi (video sprites) swim to the mouse pointer over a pond.

Shows the video-sprite pipeline of Schödl & Essa: a sprite clip with alpha (here the embedded
procedural koi from assets/fish.py, or a sprite/clip given with --sprite), per-direction future
costs that plan the frame sequence toward the pointer, and several instances of one shared
texture composited at their own scale.

    .venv/bin/python -m demos.fish                     # the koi follows the mouse
    .venv/bin/python -m demos.fish --fish 5            # a school sharing one texture
    .venv/bin/python -m demos.fish --sprite ../shared/clips/fish_school_on_black_596x336.mp4
    .venv/bin/python -m demos.fish --headless --frames 120 --shot fish.png   # no window

Sliders: speed (playback rate and travel together) and fish (how many; they keep apart). Click:
drop a target that holds until the next click; right click: follow the mouse again.
Keys: F1 help, Tab overlay, F11 fullscreen, F12 screenshot, r record, Esc quit.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="koi that swim to the mouse")
    parser.add_argument("--sprite", default=None, help="sprite folder or clip (default: the embedded koi)")
    parser.add_argument("--fish", type=int, default=1, help="how many fish at start (1-12)")
    parser.add_argument("--scale", type=float, default=1.2, help="display scale of the sprite")
    parser.add_argument("--headless", action="store_true", help="no window (for tests and recordings)")
    parser.add_argument("--frames", type=int, default=0, help="stop after this many frames (0 = never)")
    parser.add_argument("--shot", default=None, help="save the last frame shown as PNG")
    args = parser.parse_args(argv)

    from assets.fish import pond_background
    from engine.sprite import PointerTarget, Sprite, SpriteState, SpriteTexture, composite, sprite_for
    from engine.window import Window, WindowConfig

    texture = SpriteTexture(*sprite_for(args.sprite))
    background = pond_background(1280, 720)
    height, width = background.shape[:2]
    seeds = np.random.SeedSequence(1).spawn(12)
    school = []
    for k, seed in enumerate(seeds):  # every fish: the same texture, its own state and generator
        rng = np.random.default_rng(seed)
        school.append(Sprite(texture, SpriteState(
            x=float(rng.uniform(0.2, 0.8) * width), y=float(rng.uniform(0.2, 0.8) * height),
            frame=int(rng.integers(texture.n_frames)), scale=args.scale, rng=rng)))
    shown = int(np.clip(args.fish, 1, 12))
    pointer = PointerTarget((width / 2, height / 2))  # a click holds until the next click

    window = Window(WindowConfig(title="framechain: fish", headless=args.headless,
                                 record_fps=texture.fps)).open((width, height))
    window.add_slider("speed", label="speed", value=1.0, value_range=(0.4, 1.6))
    window.add_slider("fish", label="fish", value=float(shown), value_range=(1, 12))
    window.set_help([("mouse", "the fish swim to the pointer"), ("click", "drop a target (holds until the next click)"),
                     ("right click", "follow the mouse again")])
    frame = None
    dt = 1.0 / texture.fps
    count = 0
    while window.is_open:
        for event in window.poll():  # events
            if event.kind == "quit":
                window.close()
            elif event.kind == "mouse_move" and event.pos is not None:
                pointer.moved(event.pos)
            elif event.kind == "mouse_down" and event.pos is not None:
                pointer.clicked(event.pos, event.value)
            elif event.kind == "slider" and event.name == "speed":
                for fish in school:
                    fish.state.speed_factor = float(event.value)
            elif event.kind == "slider" and event.name == "fish":
                shown = int(round(event.value))
        if not window.is_open:
            break
        active = school[:shown]
        target = pointer.target
        where = np.array([(fish.state.x, fish.state.y) for fish in active])  # (M, 2): the school keeps apart
        for n, fish in enumerate(active):  # update(dt)
            fish.update(dt, target, np.delete(where, n, axis=0))
        frame = composite(background, active, out=frame)  # draw
        window.show(frame, overlay=[f"fish {shown}", f"target {target[0]:.0f}, {target[1]:.0f}"])  # flip
        dt = window.tick(None if args.headless else texture.fps)  # tick
        if args.headless:
            dt = 1.0 / texture.fps  # headless: step time by hand, one sprite frame per loop
        count += 1
        if args.frames and count >= args.frames:
            break
    if args.shot and frame is not None:
        import cv2

        cv2.imwrite(args.shot, frame[:, :, ::-1])
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

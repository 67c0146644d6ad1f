"""Real footage: one fish cut out of ../shared/clips/fish_school_on_black_596x336.mp4 (skipped
when the shared clips are missing). The clip shows several fish on black; from about frame 750 it
shows their binary masks instead (SOURCES.md), which extraction must detect and drop."""
import numpy as np
import pytest

from engine.sprite import Sprite, SpriteState, SpriteTexture, steer_course
from precompute.control import ControlConfig, analyze_control
from precompute.sprites import ExtractionConfig, extract_sprite
from precompute.video_io import decode_clip


@pytest.mark.slow
def test_one_fish_is_cut_out_followed_and_steerable(shared_clips):
    frames, info = decode_clip(shared_clips / "fish_school_on_black_596x336.mp4", max_frames=800)
    frames = frames[::2]  # every other frame: half the work, the same fish at twice the speed
    sprite = extract_sprite(frames, fps=info.fps / 2, config=ExtractionConfig(mirror=True))
    del frames
    assert info.fps == 25.0
    assert sprite.info["colourless_frames"] >= 20  # the matte pass from ~frame 750 is found
    assert 2 * sprite.source_frames.max() < 750  # and none of it is kept
    assert sprite.n_frames >= 60
    alpha = sprite.rgba[..., 3]
    assert (alpha[:, 0, :] == 0).all() and (alpha[:, :, 0] == 0).all()  # whole fish, margin kept
    area = (alpha > 127).sum(axis=(1, 2))
    assert area.min() > 0.4 * np.median(area)  # one fish throughout, never half of one
    assert area.max() < 1.8 * np.median(area)  # nor two merged
    speed = np.hypot(*sprite.velocities.T)
    assert np.median(speed) > 0.5  # it swims
    control = analyze_control(sprite, ControlConfig(feature_width=16))
    texture = SpriteTexture(sprite, control)
    fish = Sprite(texture, SpriteState(x=300.0, y=200.0, scale=2.0))
    log = steer_course(fish, [{"t": 0, "x": 600.0, "y": 200.0}], frames=150)
    assert log[-1]["x"] > 450  # it made its way toward the target on the right

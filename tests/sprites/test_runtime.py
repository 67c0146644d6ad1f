"""Run time: steering in every direction, future costs vs greedy, shared textures, compositing."""
import hashlib

import numpy as np
import pytest

from engine.sprite import Sprite, SpriteState, SpriteTexture, SteeringConfig, composite, steer_course
from precompute.errors import ConfigError


@pytest.fixture(scope="module")
def texture(steerable_sprite):
    return SpriteTexture(*steerable_sprite)


@pytest.mark.parametrize("direction_deg", range(0, 360, 45))
def test_reaches_targets_in_every_direction(texture, direction_deg):
    angle = np.radians(direction_deg)
    start = np.array([400.0, 400.0])
    target = start + 250 * np.array([np.cos(angle), np.sin(angle)])
    sprite = Sprite(texture, SpriteState(x=start[0], y=start[1], frame=0, scale=2.0))
    course = [{"t": 0.0, "x": target[0], "y": target[1]}]
    log = steer_course(sprite, course, frames=int(5 * texture.fps))
    distances = [np.hypot(e["x"] - target[0], e["y"] - target[1]) for e in log]
    assert min(distances) < 40  # reached within 5 s
    # and it swam toward it: mean angle on the way (farther than 40 px) well under 45 deg
    first = int(np.argmax(np.array(distances) < 40))
    errors = []
    for e in log[:first]:
        dx, dy = target[0] - e["x"], target[1] - e["y"]
        c = (e["vx"] * dx + e["vy"] * dy) / (np.hypot(e["vx"], e["vy"]) * np.hypot(dx, dy) + 1e-9)
        errors.append(np.degrees(np.arccos(np.clip(c, -1, 1))))
    assert np.mean(errors) < 45


def _stalls(sprite_texture, mode, frames=600):
    state = SpriteState(x=0.0, y=0.0, frame=0, scale=1.0)
    sprite = Sprite(sprite_texture, state, SteeringConfig(mode=mode))
    stalls = 0
    median_speed = sprite_texture.control.median_speed
    for _ in range(frames):  # the target stays far to the right
        sprite.step((state.x + 10_000.0, state.y))
        stalls += np.hypot(*state.velocity) < 0.25 * median_speed
    return stalls


def test_future_costs_avoid_the_dead_end_that_greedy_walks_into(dead_end_sprite):
    texture = SpriteTexture(*dead_end_sprite)
    greedy = _stalls(texture, "greedy")
    future = _stalls(texture, "future")
    assert greedy >= 40  # greedy entered the stall at least once (52 stopped frames each time)
    assert future < greedy / 4


def test_many_sprites_share_one_texture_without_sharing_state(texture):
    digest = hashlib.sha256(texture.sprite.rgba.tobytes() + texture.control.future_values.tobytes()).hexdigest()
    config = SteeringConfig(temperature=0.5)
    sprites = [Sprite(texture, SpriteState(x=300.0, y=300.0, frame=0, rng=np.random.default_rng(seed)), config)
               for seed in range(6)]
    before = (sprites[1].state.x, sprites[1].state.frame)
    for _ in range(30):
        sprites[0].step((800.0, 300.0))
    assert (sprites[1].state.x, sprites[1].state.frame) == before  # untouched by its neighbour
    for _ in range(60):
        for sprite in sprites[1:]:
            sprite.step((800.0, 300.0))
    paths = {(round(s.state.x, 3), round(s.state.y, 3), s.state.frame) for s in sprites[1:]}
    assert len(paths) > 1  # own generators: they drift apart
    assert hashlib.sha256(texture.sprite.rgba.tobytes() + texture.control.future_values.tobytes()).hexdigest() == digest
    # the same seed replays the same path exactly
    a = Sprite(texture, SpriteState(x=0.0, y=0.0, rng=np.random.default_rng(3)), config)
    b = Sprite(texture, SpriteState(x=0.0, y=0.0, rng=np.random.default_rng(3)), config)
    frames_a = [a.step((500.0, 100.0)) for _ in range(50)]
    frames_b = [b.step((500.0, 100.0)) for _ in range(50)]
    assert frames_a == frames_b


def test_update_is_frame_locked_and_clamped(texture):
    sprite = Sprite(texture, SpriteState(x=0.0, y=0.0))
    assert sprite.update(0.5 / texture.fps, (100.0, 0.0)) == 0
    assert sprite.update(0.5 / texture.fps, (100.0, 0.0)) == 1
    assert sprite.update(10.0, (100.0, 0.0)) == SteeringConfig().max_steps_per_update  # a stall is clamped


def test_moves_by_the_shown_frames_velocity_times_scale(texture):
    sprite = Sprite(texture, SpriteState(x=10.0, y=20.0, scale=1.5))
    frame = sprite.step((500.0, 20.0))
    vx, vy = texture.velocities[frame] * 1.5
    assert sprite.state.x == pytest.approx(10.0 + vx) and sprite.state.y == pytest.approx(20.0 + vy)


def test_composite_matches_the_alpha_formula(texture):
    background = np.full((60, 80, 3), 100, np.uint8)
    sprite = Sprite(texture, SpriteState(x=40.0, y=30.0, frame=5, scale=1.0))
    out = composite(background, [sprite])
    rgba = texture.sprite.rgba[5].astype(np.float64)
    side = texture.size
    x0 = int(round(40.0 - (side - 1) / 2))
    y0 = int(round(30.0 - (side - 1) / 2))
    a = rgba[..., 3:] / 255
    expected = rgba[..., :3] * a + 100 * (1 - a)
    got = out[y0:y0 + side, x0:x0 + side].astype(np.float64)
    assert np.abs(got - expected).max() <= 2.0  # rounding of premultiplied colour and of the blend
    assert (background == 100).all()  # the input is not modified
    # clipped at the edges, and at another scale, without error
    sprite.state.x, sprite.state.scale = -5.0, 2.5
    out = composite(background, [sprite])
    assert out.shape == background.shape


def test_bad_settings_are_clear_errors(texture):
    with pytest.raises(ConfigError, match="mode"):
        SteeringConfig(mode="fast")
    with pytest.raises(ConfigError, match="frame"):
        Sprite(texture, SpriteState(x=0.0, y=0.0, frame=10_000))
    with pytest.raises(ConfigError, match="targets"):
        steer_course(Sprite(texture, SpriteState(x=0.0, y=0.0)), [], frames=3)


def test_direction_tables_are_interpolated_between_the_two_nearest(texture):
    values = texture.control.future_values  # (D, S, N)
    targets = np.arange(0, texture.n_frames, 7)
    speed = float(texture.control.speeds[1])
    step = 2 * np.pi / values.shape[0]
    np.testing.assert_allclose(texture._interpolated_values(targets, 2 * step, speed), values[2, 1, targets], rtol=1e-5)
    halfway = texture._interpolated_values(targets, 2.5 * step, speed)
    np.testing.assert_allclose(halfway, (values[2, 1, targets] + values[3, 1, targets]) / 2, rtol=1e-5)
    # across the wrap: between the last table and the first
    wrap = texture._interpolated_values(targets, -0.5 * step, speed)
    np.testing.assert_allclose(wrap, (values[-1, 1, targets] + values[0, 1, targets]) / 2, rtol=1e-5)


def _school(texture, avoid_weight, count=10, frames=300):
    """`count` fish starting on a ring of 250 px around one target, chasing it for `frames`."""
    from engine.sprite import steer_group

    config = SteeringConfig(avoid_weight=avoid_weight)
    school = [Sprite(texture, SpriteState(x=640 + 250 * np.cos(a), y=360 + 250 * np.sin(a), scale=2.0,
                                          frame=int(7 * k) % texture.n_frames, rng=np.random.default_rng(k)), config)
              for k, a in enumerate(np.linspace(0, 2 * np.pi, count, endpoint=False))]
    logs = steer_group(school, [{"t": 0, "x": 640.0, "y": 360.0}], frames=frames)
    where = np.array([[(e["x"], e["y"]) for e in log] for log in logs])  # (count, T, 2)
    apart = np.linalg.norm(where[:, None] - where[None], axis=-1)  # (count, count, T)
    pairs = np.triu_indices(count, 1)
    return apart[pairs[0], pairs[1]][:, frames // 2:], np.linalg.norm(where[:, frames // 2:] - (640, 360), axis=-1)


def test_ten_sprites_chasing_one_target_keep_apart(texture):
    """Anti-collision (Schödl & Essa 2002): the school circles the target without piling up:
    over the last 5 s no two fish come closer than half a fish length (at the scale), while
    without it they end up on top of each other; both stay near the target."""
    length = texture.extent[1] * 2.0
    apart, to_target = _school(texture, avoid_weight=SteeringConfig().avoid_weight)
    assert apart.min() >= 0.5 * length
    assert np.median(to_target) < 4 * length
    piled, _ = _school(texture, avoid_weight=0.0)
    assert piled.min() < 0.2 * length


def test_speed_factor_scales_playback_rate_and_travel_together(texture):
    """At speed 2, twice the sprite frames per second, each moving by its own velocity."""
    frames_played, travel = {}, {}
    for factor in (1.0, 2.0):
        sprite = Sprite(texture, SpriteState(x=0.0, y=0.0, speed_factor=factor))
        frames_played[factor] = sum(sprite.update(1 / texture.fps, (5000.0, 0.0)) for _ in range(60))
        travel[factor] = sprite.state.x
    assert frames_played[1.0] == 60 and frames_played[2.0] == 120
    assert travel[2.0] == pytest.approx(2 * travel[1.0], rel=0.25)

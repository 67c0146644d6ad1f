"""Subjects that move in place (issue 14): a synthetic walker on a treadmill with a known gait
(period 24 frames, the stance foot sliding back at 2 px/frame, facing right), walked by the
runtime: found in place, its period found, the planted foot does not slide while it walks (the
stride matches the travel), and no short pose cycle repeats."""
import numpy as np
import pytest

from engine.sprite import Sprite, SpriteState, SpriteTexture, SteeringConfig, steer_course
from precompute.gait import analyze_gait, describe_gait
from tests.sprites.conftest import WALK_FOOT_SPEED, WALK_PERIOD, WALK_SEGMENTS, walker_foot, walker_time


@pytest.fixture(scope="module")
def walker(walker_sprite):
    return SpriteTexture(*walker_sprite)


def test_walker_is_found_in_place_with_its_period_speed_and_facing(walker):
    gait = walker.gait
    assert gait.in_place and gait.walks
    assert gait.period_frames == pytest.approx(WALK_PERIOD, abs=0.5)
    assert gait.ground_from_feet and gait.ground_speed == pytest.approx(WALK_FOOT_SPEED, rel=0.1)
    assert gait.facing == 1
    # the second segment starts 9 frames into the cycle: its phase is placed by its poses
    start = WALK_SEGMENTS[0][0]
    offset = (gait.phases[start] - WALK_SEGMENTS[1][1] / WALK_PERIOD + 0.5) % 1.0 - 0.5
    assert abs(offset) < 0.04
    assert "in place" in describe_gait(gait, walker.fps)


def test_a_swimming_fish_is_not_in_place(steerable_sprite):
    gait = analyze_gait(steerable_sprite[0])
    assert not gait.in_place and not gait.walks
    assert "moves on its own" in describe_gait(gait, 30.0)


def test_segment_ends_continue_at_the_same_phase_never_into_a_short_cycle(walker):
    gait = walker.gait
    ends = np.flatnonzero(~walker.sprite.has_successor)
    for end in ends:
        nxt = int(gait.continuations[end])
        want = walker_time(end) + 1
        assert abs((walker_time(nxt) - want + WALK_PERIOD / 2) % WALK_PERIOD - WALK_PERIOD / 2) <= 1
        same_segment = walker.sprite.segments[nxt] == walker.sprite.segments[end]
        assert not same_segment or end + 1 - nxt >= gait.config.min_cycle_frames


def _walk(walker, *, scale=1.5, ground_speed_px_s=None, frames=480):
    """Right for 8 s, then left: a log and whether each entry's image was mirrored."""
    sprite = Sprite(walker, SpriteState(x=100.0, y=300.0, scale=scale),
                    SteeringConfig(ground_speed_px_s=ground_speed_px_s))
    course = [{"t": 0, "x": 5000, "y": 300}, {"t": 8, "x": -5000, "y": 300}]
    log, mirrored = [], []
    for k in range(frames):
        log += steer_course(sprite, course, frames=1, start_frame=k)
        mirrored.append(sprite.state.mirrored)
    return log, mirrored


@pytest.mark.parametrize("speed_factor", [None, 1.5])
def test_steered_travel_matches_the_stride(walker, speed_factor):
    """The planted foot's position on the background stays put from frame to frame while the
    walker travels (at its own ground speed, and at 1.5x it, where frames are skipped to match)."""
    scale = 1.5
    speed = None if speed_factor is None else speed_factor * walker.gait.ground_speed * scale * walker.fps
    log, mirrored = _walk(walker, scale=scale, ground_speed_px_s=speed)
    slips, travel = [], []
    for k in range(1, len(log)):
        a, b = log[k - 1], log[k]
        if mirrored[k] != mirrored[k - 1] or abs(b["vy"]) > 1e-3 or abs(a["vy"]) > 1e-3:
            continue  # turning round
        face = -1 if mirrored[k] else 1
        travel.append(abs(b["vx"]))
        for leg in (0, 1):
            (xa, lift_a), (xb, lift_b) = walker_foot(walker_time(a["frame"]), leg), walker_foot(walker_time(b["frame"]), leg)
            if lift_a == 0 and lift_b == 0:  # planted in both frames
                slips.append((b["x"] + face * xb * scale) - (a["x"] + face * xa * scale))
    assert len(slips) > 200 and np.mean(travel) > 2.5  # it walked, both ways
    assert np.median(np.abs(slips)) < 0.1 * WALK_FOOT_SPEED * scale
    assert np.mean(np.abs(slips)) < 0.2 * WALK_FOOT_SPEED * scale
    assert any(mirrored) and not all(mirrored)  # shown mirrored walking left


def test_a_steered_walk_shows_no_short_pose_cycle(walker):
    """No block of fewer than 8 frames is shown twice in a row (a frozen stride gliding along),
    and the walk passed its segments' ends (the continuations were used)."""
    sprite = Sprite(walker, SpriteState(x=300.0, y=300.0, scale=1.0))
    course = [{"t": 2.0 * k, "x": 300.0 + 200 * np.cos(k), "y": 300.0 + 150 * np.sin(2 * k)} for k in range(10)]
    frames = [e["frame"] for e in steer_course(sprite, course, frames=600)]
    repeats = [k for k in range(len(frames)) for length in range(1, 8)
               if k >= 2 * length and frames[k - length:k] == frames[k - 2 * length:k - length]]
    assert repeats == []
    ends = set(np.flatnonzero(~walker.sprite.has_successor).tolist())
    assert sum(f in ends for f in frames) >= 3


def test_an_extracted_green_screen_walker_is_in_place_though_its_centroid_sways():
    """Cut out of a green-screen clip, the walker's alpha centroid sways as its legs swing (about
    1 px/frame, as much as the outline moves); over a whole period it does not travel."""
    from precompute.sprites import extract_sprite
    from tests.sprites.conftest import walker_frame

    screen = np.zeros((200, 240, 3), np.float32)
    screen[...] = (30, 200, 40)
    frames = []
    for t in range(3 * WALK_PERIOD + 8):
        rgba = walker_frame(t, side=128).astype(np.float32)
        image = screen.copy()
        a = rgba[..., 3:] / 255
        image[36:164, 56:184] = image[36:164, 56:184] * (1 - a) + rgba[..., :3] * a
        frames.append(np.clip(np.round(image), 0, 255).astype(np.uint8))
    sprite = extract_sprite(np.stack(frames), fps=30.0)
    sway = np.median(np.hypot(*np.diff(sprite.positions, axis=0).T))
    gait = analyze_gait(sprite)
    assert sway > 0.3  # the centroid does move frame to frame
    assert gait.in_place and gait.period_frames == pytest.approx(WALK_PERIOD, abs=0.5)
    assert gait.ground_speed == pytest.approx(WALK_FOOT_SPEED, rel=0.15) and gait.facing == 1
    assert np.abs(gait.wobble).max() > 0.3  # drawn back in, so the body holds still
    assert not sprite.mirrored.any(), "a walker in place is mirrored as it turns, not in its frames"

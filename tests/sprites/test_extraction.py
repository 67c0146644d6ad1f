"""Extraction: mattes, tracking, registration, velocities, mirroring, bad input."""
import numpy as np
import pytest

from precompute.errors import ClipError
from precompute.sprites import (ExtractionConfig, SpriteClip, chroma_key, extract_sprite, median_plate,
                                smooth_velocities)
from tests.sprites.conftest import RADIUS, SIZE, disc_alpha, plate, render_disc_clip, star_path


def _iou(a, b):
    a, b = a > 0.5, b > 0.5
    return (a & b).sum() / max(1, (a | b).sum())


def _true_registered_alpha(size):
    centre = (size - 1) / 2
    return disc_alpha((centre, centre), (size, size))


def test_difference_extraction_recovers_alpha_and_velocities(disc_clip):
    frames, alphas, centres, velocities = disc_clip
    sprite = extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference", mirror=False))
    assert sprite.n_frames == len(frames)  # the disc never touches the border: every frame kept
    truth = _true_registered_alpha(sprite.size)
    ious = [_iou(sprite.rgba[i, ..., 3] / 255, truth) for i in range(sprite.n_frames)]
    assert min(ious) >= 0.95
    # soft edges: the matte has partial values on the rim, as the truth does
    rim = (truth > 0.05) & (truth < 0.95)
    assert np.mean(np.abs(sprite.rgba[0, ..., 3][rim] / 255 - truth[rim])) < 0.2
    # centroids are the true centres; velocities the true ones away from the turns (smoothing
    # spreads a reversal over 2 frames each side)
    assert np.abs(sprite.positions - centres).max() < 0.3
    away = np.array([2 <= (t % 10) <= 7 for t in range(len(frames))])
    error = np.hypot(*(sprite.velocities[away] - velocities[away]).T)
    assert error.max() < 0.15 * 3.0


def test_given_plate_matches_median_plate(disc_clip):
    frames = disc_clip[0]
    np.testing.assert_array_equal(median_plate(frames), plate())  # the disc covers each pixel < half the time
    sprite = extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference", mirror=False), plate=plate())
    assert sprite.n_frames == len(frames)


@pytest.mark.parametrize("key, screen", [("green", (30, 200, 40)), ("blue", (20, 50, 210))])
def test_chroma_key_with_spill_suppression(key, screen):
    centres, _ = star_path()
    backdrop = np.zeros(SIZE + (3,), np.uint8)
    backdrop[:] = screen
    frames, alphas = render_disc_clip(backdrop, centres[:40])
    sprite = extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="auto", key=key, mirror=False))
    assert sprite.info["method"] == "chroma"
    truth = _true_registered_alpha(sprite.size)
    assert min(_iou(sprite.rgba[i, ..., 3] / 255, truth) for i in range(sprite.n_frames)) >= 0.95
    # the rim mixes disc and screen colour: spill suppression leaves no pixel more key-coloured
    # than its larger other channel
    alpha, despilled = chroma_key(frames[:1], key=key)
    rim = (alpha[0] > 0.05) & (alpha[0] < 0.95)
    assert rim.any()
    px = despilled[0][rim].astype(int)
    k = 1 if key == "green" else 2
    others = np.delete(px, k, axis=1).max(axis=1)
    assert (px[:, k] <= others).all()
    assert (frames[0][rim].astype(int)[:, k] > others).any()  # there was spill to remove


def test_follows_one_subject_and_drops_merges():
    """Two discs: the star-swimming one and a smaller one crossing its path. The followed
    subject is the one seen whole longest; frames where the two touch are dropped and split the
    clip into segments (dead ends)."""
    centres, _ = star_path()
    n = len(centres)
    path2 = np.stack([np.linspace(15, 145, n), np.full(n, 60.0)], axis=1)  # left to right through the centre

    def second(t):
        a = disc_alpha(path2[t], radius=5.0)
        return a, np.array([240.0, 240.0, 240.0])

    frames, _ = render_disc_clip(plate(), centres, extra=second)
    sprite = extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference", mirror=False, min_segment=3))
    touching = np.hypot(*(centres - path2).T) < RADIUS + 5 + 1  # blobs join
    kept = sprite.source_frames
    assert not np.any(touching[kept])  # merged frames are never kept
    assert len(np.unique(sprite.segments)) >= 2  # the merge cut the clip
    truth = _true_registered_alpha(sprite.size)
    assert min(_iou(sprite.rgba[i, ..., 3] / 255, truth) for i in range(sprite.n_frames)) >= 0.95  # the big disc
    assert not sprite.has_successor[np.flatnonzero(np.diff(sprite.segments) != 0)].any()


def test_border_frames_are_dropped():
    centres, _ = star_path()
    centres = centres.copy()
    centres[:, 0] -= 58  # the leftward legs now cross the left border
    frames, _ = render_disc_clip(plate(), centres)
    sprite = extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference", mirror=False, min_segment=3))
    left_edge = centres[sprite.source_frames, 0] - RADIUS
    assert (left_edge > 0).all()
    assert sprite.n_frames < len(frames)


def test_no_subject_is_a_clear_error():
    frames = np.repeat(plate()[None], 20, axis=0)
    with pytest.raises(ClipError, match="no subject"):
        extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference", mirror=False))


def test_subject_always_on_the_border_is_a_clear_error():
    n = 20
    centres = np.stack([np.full(n, 3.0), np.linspace(30, 90, n)], axis=1)  # hugging the left edge
    frames, _ = render_disc_clip(np.zeros(SIZE + (3,), np.uint8), centres)
    with pytest.raises(ClipError, match="border"):
        extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference", mirror=False), plate=np.zeros(SIZE + (3,), np.uint8))


def test_a_travelling_subject_is_mirrored_by_default(disc_clip):
    """One real fish swims mostly left or right: by default a subject that travels gets its
    left-right mirror too, so a course can head both ways (steering within 25 deg)."""
    frames = disc_clip[0][:40]
    plain = extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference", mirror=False), plate=plate())
    sprite = extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference"), plate=plate())
    assert sprite.n_frames == 2 * plain.n_frames and sprite.mirrored[plain.n_frames:].all()


def test_mirroring_doubles_frames_and_flips_vx(disc_clip):
    frames = disc_clip[0][:40]
    sprite = extract_sprite(frames, fps=30.0, config=ExtractionConfig(method="difference", mirror=True), plate=plate())
    half = sprite.n_frames // 2
    assert sprite.mirrored[half:].all() and not sprite.mirrored[:half].any()
    np.testing.assert_allclose(sprite.velocities[half:, 0], -sprite.velocities[:half, 0])
    np.testing.assert_allclose(sprite.velocities[half:, 1], sprite.velocities[:half, 1])
    np.testing.assert_array_equal(sprite.rgba[half:], sprite.rgba[:half, :, ::-1])
    assert not sprite.has_successor[half - 1]  # the mirror is its own segment


def test_velocities_do_not_cross_segments():
    positions = np.array([[0, 0], [1, 0], [2, 0], [100, 50], [100, 52], [100, 54]], float)
    v = smooth_velocities(positions, np.array([0, 0, 0, 1, 1, 1]), smooth_frames=3)
    np.testing.assert_allclose(v[:3], [[1, 0]] * 3)
    np.testing.assert_allclose(v[3:], [[0, 2]] * 3)


def test_sprite_clip_checks_shapes():
    with pytest.raises(ClipError, match="rgba"):
        SpriteClip.from_arrays(np.zeros((4, 8, 8, 3), np.uint8), np.zeros((4, 2)), fps=30)
    with pytest.raises(ClipError, match="velocities"):
        SpriteClip.from_arrays(np.zeros((4, 8, 8, 4), np.uint8), np.zeros((3, 2)), fps=30)

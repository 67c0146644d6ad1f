import numpy as np
import pytest

from engine.render import Compositor, MorphCompositor, compose, make_compositor
from precompute.errors import ConfigError
from precompute.flows import FlowConfig, link_flows
from tests.engine.textures import coloured_frames


def reference(frames, blend):
    """Float64 weighted sum rounded half up: the exact answer."""
    total = sum(w * frames[i].astype(np.float64) for i, w in blend)
    return np.floor(total + 0.5).clip(0, 255).astype(np.uint8)


@pytest.fixture
def frames():
    return np.random.default_rng(0).integers(0, 256, (6, 20, 30, 3), dtype=np.uint8)


def test_single_frame_is_the_store_frame_without_copy(frames):
    shown = compose(frames, [(3, 1.0)])
    assert np.shares_memory(shown, frames) and np.array_equal(shown, frames[3])


@pytest.mark.parametrize("blend", [
    [(0, 0.5), (1, 0.5)], [(2, 0.125), (5, 0.875)], [(0, 0.2), (3, 0.3), (4, 0.5)],
    [(0, 0.1), (1, 0.2), (2, 0.3), (5, 0.4)], [(0, 0.1), (1, 0.15), (2, 0.2), (3, 0.25), (4, 0.3)]])
def test_blends_match_the_exact_weighted_sum(frames, blend):
    compositor = Compositor(frames)
    shown = compositor.compose(blend)
    difference = np.abs(shown.astype(int) - reference(frames, blend).astype(int))
    assert difference.max() <= 1
    # away from rounding ties (x.5, where OpenCV rounds half to even) the result is exact
    total = sum(w * frames[i].astype(np.float64) for i, w in blend)
    clear = np.abs(total - np.floor(total) - 0.5) > 0.01
    assert not difference[clear].any()


def test_bad_blends_are_refused(frames):
    with pytest.raises(ConfigError):
        compose(frames, [])
    with pytest.raises(ConfigError):
        compose(frames, [(6, 1.0)])
    with pytest.raises(ConfigError):
        make_compositor(frames, transitions="wipe")


def blob_frame(centre_x: float, height: int = 64, width: int = 96) -> np.ndarray:
    """A smooth textured blob on a dark background, (H, W, 3) uint8."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    blob = np.exp(-((x - centre_x) ** 2 + (y - 32) ** 2) / (2 * 7.0 ** 2))
    texture = 0.6 + 0.4 * np.sin((x - centre_x) * 0.9) * np.cos(y * 0.7)
    value = 20 + 220 * blob * texture
    return np.repeat(value[..., None], 3, axis=2).round().astype(np.uint8)


def test_morph_removes_the_ghost_of_a_crossfade():
    # frames 0..5; frame 1 has the blob at x=40, frame 4 at x=48; a jump 0 -> 4 pairs them
    frames = np.stack([blob_frame(x) for x in (36, 40, 44, 48, 48, 52)])
    offsets = np.array([0, 2, 3, 4, 5, 6, 7])
    targets = np.array([1, 4, 2, 3, 4, 5, 0])
    flows = link_flows(frames, offsets, targets, config=FlowConfig(width=96))
    assert list(zip(flows.sources, flows.targets)) == [(1, 4), (5, 0)]
    morph = MorphCompositor(frames, flows, fade_frames=4)
    ideal = blob_frame(44).astype(float)
    morphed = morph.compose([(1, 0.5), (4, 0.5)]).astype(float)
    crossfaded = Compositor(frames).compose([(1, 0.5), (4, 0.5)]).astype(float)
    morph_error = np.sqrt(np.mean((morphed - ideal) ** 2))
    fade_error = np.sqrt(np.mean((crossfaded - ideal) ** 2))
    assert morph_error < 0.5 * fade_error, (morph_error, fade_error)
    # the frames a step into the fade use the same jump's flow; three-way blends crossfade
    assert morph._flow_for(2, 5) == morph._flow_for(1, 4)
    three = [(0, 0.2), (1, 0.3), (2, 0.5)]
    assert np.array_equal(morph.compose(three), Compositor(frames).compose(three))


def test_flows_refuse_a_store_of_another_size():
    frames = coloured_frames(4)
    flows = link_flows(frames, np.arange(5), np.array([1, 2, 3, 0]))
    with pytest.raises(ConfigError, match="recompute"):
        MorphCompositor(coloured_frames(4, 12, 16), flows)

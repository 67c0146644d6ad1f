import numpy as np
import pytest

from engine.texture import VideoTexture
from precompute.errors import AnalysisError, ConfigError
from tests.engine.textures import SIGMA, chain_texture, coloured_frames


def test_probabilities_follow_future_costs(chain):
    p = chain.link_probabilities().reshape(chain.n_frames, 3)
    np.testing.assert_allclose(p, np.tile([4 / 7, 2 / 7, 1 / 7], (chain.n_frames, 1)), rtol=1e-6)


def test_variety_rescales_sigma(chain):
    # variety 2: exp(-ln2 / 2), exp(-ln4 / 2) = 1/sqrt(2), 1/2
    expected = np.array([1.0, 2 ** -0.5, 0.5])
    p = chain.link_probabilities(variety=2.0).reshape(chain.n_frames, 3)
    np.testing.assert_allclose(p[0], expected / expected.sum(), rtol=1e-6)
    with pytest.raises(ConfigError):
        chain.link_probabilities(variety=0.0)


def test_arrays_are_read_only_and_inputs_untouched():
    frames = coloured_frames(5)
    offsets = np.arange(6)
    targets = np.array([1, 2, 3, 4, 0])
    costs = np.zeros(5, np.float32)
    texture = VideoTexture.from_arrays(frames, link_offsets=offsets, link_targets=targets,
                                       link_future_costs=costs, fps=25, sigma=1.0)
    assert frames.flags.writeable and costs.flags.writeable
    for array in (texture.frames, texture.link_offsets, texture.link_targets, texture.link_future_costs):
        assert not array.flags.writeable
    assert texture.link_targets.dtype == np.int32 and texture.link_offsets.dtype == np.int64
    assert texture.frame_size == (32, 24)


def test_rejects_bad_input():
    frames = coloured_frames(4)
    good = dict(link_offsets=np.arange(5), link_targets=np.array([1, 2, 3, 0]),
                link_future_costs=np.zeros(4, np.float32), fps=30, sigma=1.0)
    with pytest.raises(AnalysisError, match="frames must be"):
        VideoTexture.from_arrays(frames[..., 0], **good)
    with pytest.raises(AnalysisError, match="at least one link"):
        VideoTexture.from_arrays(frames, **{**good, "link_offsets": np.array([0, 1, 1, 2, 4]),
                                            })
    with pytest.raises(AnalysisError, match="link_targets"):
        VideoTexture.from_arrays(frames, **{**good, "link_targets": np.array([1, 2, 3, 4])})
    assert issubclass(AnalysisError, ValueError)


def test_range_distance_counts_frames_outside():
    n = 20  # a pure cycle 0 -> 1 -> ... -> 19 -> 0
    texture = VideoTexture.from_arrays(coloured_frames(n), link_offsets=np.arange(n + 1),
                                       link_targets=(np.arange(n) + 1) % n,
                                       link_future_costs=np.zeros(n, np.float32), fps=30, sigma=1.0)
    distance = texture.range_distance((5, 10))
    assert distance[0] == 5 and distance[4] == 1 and distance[5] == 0 and distance[9] == 0
    assert distance[10] == 15 and distance[19] == 6
    with pytest.raises(ConfigError):
        texture.range_distance((10, 5))


def test_from_analysis_reads_the_documented_fields():
    chain = chain_texture()

    class FakeAnalysis:
        frames = chain.frames
        fps = 24.0
        link_offsets = chain.link_offsets
        link_targets = chain.link_targets
        link_future_costs = chain.link_future_costs
        link_visual_costs = chain.link_visual_costs
        stats = {"sigma": SIGMA}
        source = {"path": "clip.mp4"}

    texture = VideoTexture.from_analysis(FakeAnalysis())
    assert texture.source == "clip.mp4" and texture.fps == 24.0 and texture.sigma == SIGMA
    assert texture.frames is not None and np.shares_memory(texture.frames, chain.frames)

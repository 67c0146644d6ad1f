"""The generative refiners (issue 13): the GAN and the diffusion refiner on a clip whose crossfade
ghosts, judged by the measures that fit a generator (precompute.generative_measures)."""
import dataclasses
import json

import numpy as np
import pytest

from precompute import generative
from precompute import generative_measures as measures
from precompute.errors import AnalysisError, ConfigError
from tests.generative._disc import disc_clip, disc_frame
from tests.synthetic import tamper

GAP = 6  # the jump: the disc is 9 px away (its radius is 10.5), so a crossfade shows two discs
TIMES = np.arange(1, 5) / 5  # a 4-frame bridge
# A few seconds of training each on 2 cores.
SHORT = generative.GenerativeConfig(width=64, channels=8, steps=150, batch_size=4, crop=32, max_gap=GAP,
                                    device="cpu", seed=0)


@pytest.fixture(scope="module")
def clip():
    return disc_clip(60, flat=True)


@pytest.fixture(scope="module")
def models(clip):
    return {name: generative.train_model(clip, config=dataclasses.replace(SHORT, generator=name), progress=False)
            for name in ("gan", "diffusion")}


def _bridges(clip, make):
    """Each jump (s, s + GAP)'s 4 bridge frames then the frame after them (as play shows them)."""
    return [np.concatenate([make(clip[s], clip[s + GAP]), clip[s + GAP:s + GAP + 1]]) for s in range(2, 44, 2)]


def test_short_training_gives_frames_nearer_real_than_the_crossfade_with_steps_of_the_morph(clip, models):
    crossfade = measures.realism(_bridges(clip, lambda a, b: generative.crossfade(a, b, TIMES)), clip)
    morph = measures.realism(_bridges(clip, lambda a, b: generative.flow_morph(a, b, TIMES)), clip)
    for name, model in models.items():
        made = measures.realism(_bridges(clip, lambda a, b: model.interpolate(a, b, TIMES)), clip)
        # measured: crossfade median 0.70, p95 local 1.33; gan / diffusion 0.42, 0.55 (morph alike)
        assert made["median_nearest_real"] < 0.8 * crossfade["median_nearest_real"], name
        assert made["p95_nearest_real_local"] < 0.8 * crossfade["p95_nearest_real_local"], name
        # measured: 1.147 against the morph's 1.159 (a bridge of 4 moves 1.2 natural steps a frame)
        assert made["p95_step"] <= 1.02 * morph["p95_step"], name


def test_the_gan_trains_its_discriminator_and_moves_away_from_the_regression(clip, models):
    record = models["gan"].record
    assert record["generator"] == "gan" and record["steps_run"] == SHORT.steps
    assert np.isfinite(record["discriminator_loss"]) and np.isfinite(record["adversarial_loss"])
    regression = generative.train_model(clip, config=dataclasses.replace(SHORT, steps=20), progress=False)
    gan = generative.train_model(clip, config=dataclasses.replace(SHORT, steps=20, generator="gan"),
                                 progress=False)
    # same seed, same batches: only the adversarial term can make the weights differ
    assert any(not np.array_equal(v.numpy(), gan.state_dict[k].numpy()) for k, v in regression.state_dict.items())


def test_untrained_diffusion_refiner_returns_the_morph(clip):
    """SDEdit starts from the morph, and the zero-started network predicts it back."""
    model = generative.train_model(clip, config=dataclasses.replace(SHORT, steps=0, generator="diffusion"),
                                   progress=False)
    a, b = clip[[4, 10]]
    made = model.interpolate(a, b, TIMES).astype(int)
    morph = generative.flow_morph(a, b, TIMES).astype(int)
    assert np.abs(made - morph).max() <= 2  # grid_sample and cv2.remap round differently


@pytest.mark.parametrize("generator", ["gan", "diffusion"])
def test_seeds_fix_weights_and_frames(clip, generator):
    config = dataclasses.replace(SHORT, steps=6, batch_size=2, generator=generator, seed=3)
    first = generative.train_model(clip[:24], config=config, progress=False)
    second = generative.train_model(clip[:24], config=config, progress=False)
    other = generative.train_model(clip[:24], config=dataclasses.replace(config, seed=4), progress=False)
    for name, value in first.state_dict.items():
        assert np.array_equal(value.numpy(), second.state_dict[name].numpy()), name
    assert any(not np.array_equal(v.numpy(), other.state_dict[k].numpy()) for k, v in first.state_dict.items())
    a, b = clip[[2, 8]]
    assert np.array_equal(first.interpolate(a, b, TIMES), second.interpolate(a, b, TIMES))


def test_saved_generative_models_round_trip_and_tampering_is_refused(tmp_path, clip, models):
    a, b = clip[[6, 12]]
    for name, model in models.items():
        folder = generative.save_model(model, tmp_path / name)
        loaded = generative.load_model(folder)
        assert loaded.config.generator == name and loaded.config == model.config
        assert np.array_equal(loaded.interpolate(a, b, TIMES), model.interpolate(a, b, TIMES))
        tamper(folder / "model.pt", at=1 / 3, mask=0x55)
        with pytest.raises(AnalysisError, match="tampered"):
            generative.load_model(folder)


def test_a_version_1_model_loads_as_the_regression_model(tmp_path, clip):
    model = generative.train_model(clip[:20], config=dataclasses.replace(SHORT, steps=2), progress=False)
    folder = generative.save_model(model, tmp_path / "old")
    sidecar = json.loads((folder / "model.json").read_text())
    sidecar["format_version"] = 1
    for name in ("generator", "adversarial_weight", "discriminator_rate", "diffusion_strength", "diffusion_steps"):
        del sidecar["config"][name]
    (folder / "model.json").write_text(json.dumps(sidecar))
    assert generative.load_model(folder).config.generator == "regression"


def test_generator_settings_are_checked():
    with pytest.raises(ConfigError, match="generator"):
        generative.GenerativeConfig(generator="vae")
    with pytest.raises(ConfigError, match="validation"):
        generative.GenerativeConfig(generator="gan", validation=0.1)
    with pytest.raises(ConfigError, match="diffusion_strength"):
        generative.GenerativeConfig(generator="diffusion", diffusion_strength=0.0)


def test_realism_measures_real_frames_as_real_and_a_ghost_as_far(clip):
    real = measures.realism([clip[10:15], clip[30:35]], clip)
    assert real["median_nearest_real"] == pytest.approx(0, abs=1e-3)
    assert real["p95_nearest_real_local"] == pytest.approx(0, abs=1e-3)
    # natural steps, so the p95 step of real frames is about one (0.9..1.2 for this clip)
    assert 0.8 < real["p95_step"] < 1.5
    far = [np.concatenate([generative.crossfade(clip[s], clip[s + 14], TIMES), clip[s + 14:s + 15]])
           for s in range(2, 40, 4)]
    assert measures.realism(far, clip)["p95_nearest_real_local"] > 1.0


def test_two_sample_accuracy_tells_ghosts_from_real_and_not_real_from_real():
    clip = disc_clip(120, flat=True)
    real = clip[0::2]
    alike = clip[1::2]  # other real frames of the same clip
    ghosts = np.stack([generative.crossfade(clip[s], clip[s + 14], [0.5])[0] for s in range(0, 100, 2)])
    assert measures.two_sample_accuracy(real, ghosts) >= 0.9
    assert measures.two_sample_accuracy(real, alike) <= 0.7
    assert measures.two_sample_accuracy(real[:12], ghosts[:12], seed=5) == \
        measures.two_sample_accuracy(real[:12], ghosts[:12], seed=5)  # seeded
    assert measures.two_sample_accuracy(real[:4], ghosts[:4]) is None


def test_disc_frames_at_fractional_times_are_between_the_integer_ones():
    """The test clip itself: the true frame at s + 0.5 is nearer the crossfade-free real frames
    than a crossfade of frames 14 apart is."""
    clip = disc_clip(40, flat=True)
    half = disc_frame(10.5, flat=True)[None]
    assert measures.nearest_real(measures.features(half), measures.features(clip))[0] < \
        measures.nearest_real(measures.features(generative.crossfade(clip[4], clip[18], [0.5])),
                              measures.features(clip))[0]


def test_eval_transitions_reports_realism_and_two_sample_per_method():
    """The "realism" and "two_sample" blocks of `framechain eval-transitions`, on transitions whose
    answer is known: the true in-between frames against far crossfades (ghosts)."""
    from types import SimpleNamespace

    from engine.commands.eval_transitions import transition_measures

    clip = disc_clip(80, flat=True)
    made = {"crossfade": [], "truth": [], "_streams": []}
    for s in range(2, 60, 2):
        made["crossfade"].append(np.concatenate([generative.crossfade(clip[s], clip[s + 12], TIMES), clip[s + 12:s + 13]]))
        made["truth"].append(np.stack([disc_frame(s + 12 * t, flat=True) for t in TIMES] + [clip[s + 12]]))
        made["_streams"].append(clip[[s, s + 12]])
    result = transition_measures(SimpleNamespace(frames=clip), made, size=clip.shape[1:3])
    assert set(result["realism"]) == set(result["two_sample"]) == {"crossfade", "truth"}
    truth, ghost = result["realism"]["truth"], result["realism"]["crossfade"]
    assert truth["median_nearest_real"] < 0.5 * ghost["median_nearest_real"]
    assert truth["p95_nearest_real_local"] < ghost["p95_nearest_real_local"]
    assert result["two_sample"]["crossfade"] > result["two_sample"]["truth"]
    assert result["jumps"]["jumps"] == len(made["crossfade"])

"""The in-between model (precompute.generative) on a clip whose in-betweens are known exactly."""
import json

import numpy as np
import pytest

from precompute import generative
from precompute.errors import AnalysisError, ConfigError
from tests.generative._disc import disc_clip, disc_frame
from tests.synthetic import tamper

# A few seconds of training on 2 cores: enough to show the pipeline learns, not to be good.
TINY = generative.GenerativeConfig(width=64, channels=8, steps=40, batch_size=4, crop=32, max_gap=4,
                                   device="cpu", learning_rate=2e-3)
HOLDOUT = (48, 60)


def _psnr(guess, truth):
    mse = np.mean((guess.astype(np.float64) - truth.astype(np.float64)) ** 2)
    return 10 * np.log10(255.0 ** 2 / mse)


def _held_out_cases():
    """(a, b, times, truth) for gap-4 tuples inside the held-out stretch; truth rendered exactly."""
    frames = disc_clip(60)
    times = np.array([0.25, 0.5, 0.75])
    for s in range(HOLDOUT[0], HOLDOUT[1] - 4, 2):
        truth = np.stack([disc_frame(s + 4 * t) for t in times])  # (3, H, W, 3)
        yield frames[s], frames[s + 4], times, truth


@pytest.fixture(scope="module")
def trained():
    return generative.train_model(disc_clip(60), config=TINY, holdout=HOLDOUT, progress=False)


def test_short_training_beats_crossfade_on_held_out_frames(trained):
    generated, crossfaded = [], []
    for a, b, times, truth in _held_out_cases():
        generated.append(_psnr(trained.interpolate(a, b, times), truth))
        crossfaded.append(_psnr(generative.crossfade(a, b, times), truth))
    # Measured: crossfade ~24.5 dB, flow morph ~31.8 dB, generated >= the morph; 3 dB is a wide margin.
    assert np.mean(generated) > np.mean(crossfaded) + 3.0
    assert trained.record["steps_run"] == TINY.steps
    assert np.isfinite(trained.record["final_loss"])


def test_untrained_model_is_the_flow_morph():
    """The last layer starts at zero: before training the model returns the DIS flow morph."""
    model = generative.train_model(disc_clip(20), config=generative.GenerativeConfig(
        width=64, channels=8, steps=0, max_gap=4, device="cpu"), progress=False)
    a, b = disc_clip(20)[[4, 8]]
    times = [0.25, 0.5, 0.75]
    made = model.interpolate(a, b, times).astype(int)
    morph = generative.flow_morph(a, b, times).astype(int)
    # torch's grid_sample and cv2.remap round differently; a level or two at most.
    assert np.abs(made - morph).max() <= 2


def test_same_seed_gives_same_weights_and_frames():
    config = generative.GenerativeConfig(width=64, channels=8, steps=6, batch_size=2, crop=32,
                                         max_gap=3, device="cpu", seed=7)
    frames = disc_clip(24)
    first = generative.train_model(frames, config=config, progress=False)
    second = generative.train_model(frames, config=config, progress=False)
    other = generative.train_model(frames, config=generative.GenerativeConfig(
        **{**config.__dict__, "seed": 8}), progress=False)
    for name, value in first.state_dict.items():
        assert np.array_equal(value.numpy(), second.state_dict[name].numpy()), name
    assert any(not np.array_equal(v.numpy(), other.state_dict[k].numpy()) for k, v in first.state_dict.items())
    a, b = frames[[2, 5]]
    assert np.array_equal(first.interpolate(a, b, [0.5]), second.interpolate(a, b, [0.5]))


def test_holdout_frames_never_train():
    spans = generative._training_spans(20, np.r_[np.ones(10, bool), np.zeros(4, bool), np.ones(6, bool)], 3)
    touched = {f for s, k in spans for f in range(s, s + k + 1)}
    assert touched.isdisjoint(range(10, 14))
    assert (0, 2) in spans and (7, 2) in spans and (8, 2) not in spans


def test_saved_model_round_trips(tmp_path, trained):
    folder = generative.save_model(trained, tmp_path / "model")
    sidecar = json.loads((folder / "model.json").read_text())
    assert sidecar["format"] == generative.FORMAT and sidecar["format_version"] == generative.FORMAT_VERSION
    assert sidecar["config"]["channels"] == TINY.channels
    loaded = generative.load_model(folder)
    assert loaded.config == trained.config and loaded.size == trained.size
    a, b, times, _ = next(_held_out_cases())
    assert np.array_equal(loaded.interpolate(a, b, times), trained.interpolate(a, b, times))


def test_tampered_weights_are_refused(tmp_path, trained):
    folder = generative.save_model(trained, tmp_path / "model")
    tamper(folder / "model.pt")
    with pytest.raises(AnalysisError, match="tampered"):
        generative.load_model(folder)


def test_other_version_and_missing_model_are_refused(tmp_path, trained):
    with pytest.raises(AnalysisError, match="no generative model"):
        generative.load_model(tmp_path / "nothing")
    folder = generative.save_model(trained, tmp_path / "model")
    sidecar = json.loads((folder / "model.json").read_text())
    sidecar["format_version"] = 99
    (folder / "model.json").write_text(json.dumps(sidecar))
    with pytest.raises(AnalysisError, match="version 99"):
        generative.load_model(folder)


def test_bad_inputs_say_what_came():
    with pytest.raises(ConfigError, match=r"frames must be \(T, H, W, 3\) uint8"):
        generative.train_model(np.zeros((10, 8, 8, 3), np.float32), config=TINY, progress=False)
    with pytest.raises(ConfigError, match="out of range"):
        generative.GenerativeConfig(flow="lucas-kanade")
    with pytest.raises(ConfigError, match="no training tuple"):
        generative.train_model(disc_clip(2), config=TINY, progress=False)


def test_flow_morph_follows_a_translation():
    """A pure shift of 4 px: the morph at t = 0.5 is the 2 px shift, the crossfade is not."""
    rng = np.random.default_rng(0)
    base = (rng.random((40, 72, 3)) * 255).astype(np.uint8)
    import cv2
    base = cv2.GaussianBlur(base, (5, 5), 1.5)
    a, mid, b = base[:, 8:56], base[:, 6:54], base[:, 4:52]
    morph = generative.flow_morph(np.ascontiguousarray(a), np.ascontiguousarray(b), [0.5])[0]
    fade = generative.crossfade(np.ascontiguousarray(a), np.ascontiguousarray(b), [0.5])[0]
    inner = (slice(6, -6), slice(6, -6))
    assert _psnr(morph[inner], mid[inner]) > _psnr(fade[inner], mid[inner]) + 6


def test_evaluation_reports_every_method(trained):
    frames = disc_clip(60)
    result = generative.evaluate_inbetweens(frames, HOLDOUT, model=trained, size=trained.size, max_gap=4)
    assert set(result["psnr"]) == set(generative.METHODS) | {"morph"}
    psnr = result["psnr"]
    assert psnr["morph"] > psnr["crossfade"] > 0
    assert result["frames_scored"] > 0


def test_training_crops_warp_from_the_whole_frames():
    """On a crop the untrained model is the morph of the whole frames cut to the crop: its
    warps sample outside the crop where the flows point there (the disc moves 6 px per gap 4)."""
    import torch

    frames = disc_clip(24)
    config = generative.GenerativeConfig(width=64, channels=8, crop=16, crop_tries=1, batch_size=6,
                                         max_gap=4, device="cpu")
    size = frames.shape[1:3]
    spans = generative._training_spans(len(frames), np.ones(len(frames), bool), config.max_gap)
    cache = generative._FlowCache(frames, "dis", 1 << 24)
    inputs, targets, sources = generative._sample_batch(frames, spans, cache, np.random.default_rng(3),
                                                        config, size)
    assert inputs.shape == (6, 17, 16, 16) and targets.shape == (6, 3, 16, 16)
    assert sources[0].shape == (6, 3) + size and sources[2].shape == (6, 2)
    torch.manual_seed(0)
    net = generative._build_net(config.channels)
    with torch.no_grad():
        made = generative._compose(net, torch.from_numpy(inputs), tuple(torch.from_numpy(x) for x in sources))
    t = inputs[:, 16:17]
    morph = (1 - t) * inputs[:, 6:9] + t * inputs[:, 9:12]  # the numpy warps of the whole frames
    assert np.abs(made.numpy() - morph).max() * 255 <= 2


def test_time_limited_runs_plan_their_learning_rate():
    """Constant while the run times itself, then a cosine to 1% at the planned step: the rates
    depend on the planned count only (a rerun with steps=planned_steps repeats the run)."""
    rates = [generative._learning_rate(1.0, step, 120) for step in range(200)]
    assert rates[:generative.PLAN_AFTER_STEPS] == [1.0] * generative.PLAN_AFTER_STEPS
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert rates[120] == pytest.approx(0.01) and rates[199] == pytest.approx(0.01)
    assert rates[(generative.PLAN_AFTER_STEPS + 120) // 2] == pytest.approx(0.505, abs=0.02)


def test_every_in_between_frame_is_equally_likely_in_training():
    """Spans are drawn with weight k - 1 (the frames between): gap 3 twice as often as gap 2."""
    frames = disc_clip(12)
    config = generative.GenerativeConfig(width=64, channels=8, crop=16, batch_size=400, max_gap=3,
                                         crop_tries=1, device="cpu")
    spans = [(0, 2), (0, 3)]
    cache = generative._FlowCache(frames, "dis", 1 << 24)
    inputs, _, _ = generative._sample_batch(frames, spans, cache, np.random.default_rng(0), config,
                                            frames.shape[1:3])
    t = np.round(inputs[:, 16, 0, 0] * 6).astype(int)  # t in sixths: 3 for gap 2; 2 or 4 for gap 3
    share_gap3 = np.isin(t, (2, 4)).mean()
    assert 0.6 < share_gap3 < 0.73


def test_validation_frames_never_train_and_pick_the_checkpoint(trained):
    """With validation=0.1 the last tenth of the training frames scores checkpoints; the best one
    is kept (the untrained morph, step 0, is a candidate), and those frames never train."""
    usable = np.r_[np.ones(48, bool), np.zeros(12, bool)]
    assert generative._validation_range(usable, 0.1) == (43, 48)
    assert generative._validation_range(usable, 0.0) is None
    assert generative._validation_range(np.ones(14, bool), 0.1) is None  # too short to spare frames
    assert trained.record["validation"] is None and trained.record["best_step"] == TINY.steps  # off by default
    config = generative.GenerativeConfig(**{**TINY.__dict__, "validation": 0.1})
    record = generative.train_model(disc_clip(60), config=config, holdout=HOLDOUT, progress=False).record
    assert record["validation"] == [43, 48]
    assert [step for step, _ in record["validation_psnr"]] == [0, TINY.steps]
    best = max(record["validation_psnr"], key=lambda pair: pair[1])
    assert record["best_step"] == best[0]
    spans = generative._training_spans(60, np.r_[np.ones(43, bool), np.zeros(17, bool)], TINY.max_gap)
    assert record["tuples"] == len(spans)

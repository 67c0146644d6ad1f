"""Control analysis: costs, links, future-cost tables, save/load."""
import json

import numpy as np
import pytest

from precompute.control import (FORMAT_VERSION, ControlConfig, base_costs, control_costs, is_sprite,
                                load_sprite, save_sprite)
from precompute.errors import AnalysisError, ConfigError


def test_base_costs_natural_step_free_and_stutters_forbidden():
    n = 12
    rng = np.random.default_rng(0)
    d = rng.uniform(1, 2, (n, n)).astype(np.float32)
    d = (d + d.T) / 2
    np.fill_diagonal(d, 0)
    succ = np.ones(n, bool)
    succ[5] = False  # a segment ends at frame 5
    succ[-1] = False
    v = np.tile([[2.0, 0.0]], (n, 1)).astype(np.float32)
    b = base_costs(d, v, succ, unit=1.0, median_speed=2.0,
                   config=ControlConfig(min_jump_frames=2, jump_penalty=0.0, velocity_weight=0.0))
    for i in range(n - 1):
        if succ[i]:
            assert b[i, i + 1] == 0.0
        assert np.isinf(b[i, i])  # staying is a stutter
    assert np.isfinite(b[5, 6])  # across a segment end: a jump, priced by its looks
    assert b[5, 6] > 0
    # the filtered cost: (D[i+1, j] + D[i, j-1]) / 2 inside segments
    assert b[1, 8] == pytest.approx((d[2, 8] + d[1, 7]) / 2)
    # frame 5 has no successor: only the backward tap
    assert b[5, 9] == pytest.approx(d[5, 8])


def test_control_cost_prefers_the_wanted_direction_and_speed():
    config = ControlConfig()
    v = np.array([[3, 0], [0, 3], [-3, 0], [1, 0]], np.float32)  # right, down, left, slow right
    e = control_costs(v, 0.0, 3.0, unit=1.0, config=config, median_speed=3.0)
    assert e[0] == pytest.approx(0.0, abs=1e-5)
    assert e[0] < e[1] < e[2]
    assert e[3] > e[0]
    assert e[2] == pytest.approx(config.direction_weight, rel=1e-4)  # 180 deg off


def test_tables_cover_directions_and_speeds(steerable_sprite):
    sprite, control = steerable_sprite
    assert control.future_values.shape == (8, 3, sprite.n_frames)
    assert np.all(np.diff(control.speeds) > 0)
    assert np.isfinite(control.future_values).all()
    # the table for "right" is lowest on frames swimming right, highest on frames swimming left
    right = control.future_values[0, 1]
    angle = np.degrees(np.arctan2(sprite.velocities[:, 1], sprite.velocities[:, 0]))
    assert right[np.abs(angle) < 20].mean() < right[np.abs(angle) > 160].mean()
    # every frame keeps its natural step as a link
    offsets, targets = control.link_offsets, control.link_targets
    for i in np.flatnonzero(sprite.has_successor)[::37]:
        assert i + 1 in targets[offsets[i]:offsets[i + 1]]


def test_save_load_round_trip_and_refusals(tmp_path, steerable_sprite):
    sprite, control = steerable_sprite
    folder = save_sprite(tmp_path / "fish", sprite, control)
    assert is_sprite(folder)
    loaded, loaded_control, manifest = load_sprite(folder)
    np.testing.assert_array_equal(loaded.rgba, sprite.rgba)
    np.testing.assert_array_equal(loaded.velocities, sprite.velocities)
    np.testing.assert_array_equal(loaded_control.future_values, control.future_values)
    assert loaded_control.config == control.config
    assert manifest["format_version"] == FORMAT_VERSION == 2  # 2: frames stored cropped
    # nothing pickled: plain arrays only
    with np.load(folder / "control.npz", allow_pickle=False) as data:
        assert set(data.files) >= {"link_offsets", "future_values"}
    # a newer version and a tampered file are refused with a message that says what to do
    text = json.loads((folder / "manifest.json").read_text())
    text["format_version"] = 99
    (folder / "manifest.json").write_text(json.dumps(text))
    with pytest.raises(AnalysisError, match="version"):
        load_sprite(folder)
    text["format_version"] = FORMAT_VERSION
    (folder / "manifest.json").write_text(json.dumps(text))
    with open(folder / "control.npz", "ab") as handle:
        handle.write(b"x")
    with pytest.raises(AnalysisError, match="changed"):
        load_sprite(folder)
    with pytest.raises(AnalysisError, match="not a sprite"):
        load_sprite(tmp_path)


@pytest.mark.parametrize("field, value", [("fps", 0), ("fps", "25"), ("frames", -1),
                                          ("files", {"../x": "0"}), ("control", {"unit": None})])
def test_sprite_manifest_fields_are_checked(tmp_path, steerable_sprite, field, value):
    """issue 16: a manifest is validated field by field on load (fps 0 would divide by zero)."""
    sprite, control = steerable_sprite
    folder = save_sprite(tmp_path / "fish", sprite, control)
    text = json.loads((folder / "manifest.json").read_text())
    text[field] = value
    (folder / "manifest.json").write_text(json.dumps(text))
    with pytest.raises(AnalysisError, match=field):
        load_sprite(folder)


def test_config_checks():
    with pytest.raises(ConfigError):
        ControlConfig(directions=2)
    with pytest.raises(ConfigError):
        ControlConfig(alpha=1.0)

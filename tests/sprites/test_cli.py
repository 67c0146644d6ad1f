"""The `framechain sprite` and `framechain steer` commands, end to end on synthetic input."""
import json

import cv2
import numpy as np
import pytest

import engine.cli
from precompute.control import ControlConfig, load_sprite, save_sprite
from tests.sprites.conftest import plate


def main(argv):
    return engine.cli.main(argv)


@pytest.fixture(autouse=True)
def _only_sprite_commands(monkeypatch):
    """Build the CLI from this feature's commands only, so another command's flags cannot break
    these tests (the error handling under test is engine.cli.main's own)."""
    from engine.commands import info, sprite, steer

    monkeypatch.setattr(engine.cli, "_command_modules", lambda: iter([info, sprite, steer]))


@pytest.fixture(scope="module")
def sprite_folder(tmp_path_factory, steerable_sprite):
    sprite, control = steerable_sprite
    return save_sprite(tmp_path_factory.mktemp("sprite") / "fish", sprite, control)


def _write_png_folder(folder, frames):
    folder.mkdir()
    for t, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame_{t:04d}.png"), frame[:, :, ::-1])
    return folder


def test_sprite_command_writes_a_loadable_sprite(tmp_path, disc_clip, capsys):
    clip = _write_png_folder(tmp_path / "disc", disc_clip[0][:60])
    out = tmp_path / "disc.sprite"
    assert main(["sprite", str(clip), "-o", str(out), "--method", "difference", "--fps", "30", "--no-mirror",
                 "--directions", "8"]) == 0
    sprite, control, manifest = load_sprite(out)
    assert sprite.n_frames == 60 and control.future_values.shape[:2] == (8, 3)
    assert manifest["extraction"]["method"] == "difference"
    assert "extracted 60 sprite frames" in capsys.readouterr().out


def test_steer_headless_log_format(tmp_path, sprite_folder):
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps([{"t": 0, "x": 300, "y": 200}, {"t": 1.5, "x": 100, "y": 250}]))
    log = tmp_path / "steer.json"
    assert main(["steer", str(sprite_folder), "--targets", str(targets), "--headless", "--log", str(log),
                 "--duration", "3"]) == 0
    data = json.loads(log.read_text())
    assert data["fps"] == 30.0
    assert len(data["frames"]) == 90
    entry = data["frames"][0]
    assert set(entry) == {"frame", "x", "y", "vx", "vy", "target_x", "target_y"}
    assert (entry["target_x"], entry["target_y"]) == (300, 200)
    assert (data["frames"][-1]["target_x"], data["frames"][-1]["target_y"]) == (100, 250)
    # positions advance by the logged velocities
    a, b = data["frames"][10], data["frames"][11]
    assert b["x"] == pytest.approx(a["x"] + b["vx"], abs=1e-2)
    assert b["y"] == pytest.approx(a["y"] + b["vy"], abs=1e-2)


def test_steer_writes_video_with_several_sprites(tmp_path, sprite_folder):
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps([{"t": 0, "x": 60, "y": 40}]))
    video = tmp_path / "steer.mp4"
    log = tmp_path / "steer.json"
    background = tmp_path / "bg.png"
    cv2.imwrite(str(background), np.full((96, 128, 3), 80, np.uint8))
    assert main(["steer", str(sprite_folder), "--targets", str(targets), "--headless", "--log", str(log),
                 "-o", str(video), "--duration", "0.5", "--sprites", "3", "--background", str(background)]) == 0
    from precompute.video_io import decode_clip

    frames, _ = decode_clip(video)
    assert frames.shape == (15, 96, 128, 3)
    assert frames.std() > 1  # sprites were drawn over the flat background


def test_bad_input_gives_one_line_errors(tmp_path, sprite_folder, capsys):
    still = _write_png_folder(tmp_path / "still", np.repeat(plate()[None], 12, axis=0))
    assert main(["sprite", str(still), "-o", str(tmp_path / "x"), "--method", "difference"]) == 2
    assert "no subject" in capsys.readouterr().err
    targets = tmp_path / "t.json"
    targets.write_text("{}")
    assert main(["steer", str(sprite_folder), "--targets", str(targets), "--headless"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("framechain: error:") and "list" in err
    assert main(["steer", str(sprite_folder), "--headless"]) == 2
    assert "--targets" in capsys.readouterr().err


def test_fish_demo_runs_headless(tmp_path, sprite_folder):
    from demos.fish import main as demo

    shot = tmp_path / "fish.png"
    assert demo(["--sprite", str(sprite_folder), "--headless", "--frames", "6", "--fish", "3",
                 "--shot", str(shot)]) == 0
    image = cv2.imread(str(shot))
    assert image.shape == (720, 1280, 3)


def test_embedded_fish_is_generated_once_then_cached(tmp_path, monkeypatch):
    from assets.fish import FishConfig
    from engine.sprite import default_fish

    monkeypatch.setenv("FRAMECHAIN_CACHE", str(tmp_path))
    small = FishConfig(frames=120, size=32, supersample=1)
    config = ControlConfig(feature_width=8)
    said = []
    sprite, control = default_fish(fish_config=small, control_config=config, progress=said.append)
    assert len(said) == 1 and sprite.rgba.shape == (120, 32, 32, 4)
    again, control_again = default_fish(fish_config=small, control_config=config, progress=said.append)
    assert len(said) == 1  # loaded, not generated
    np.testing.assert_array_equal(again.rgba, sprite.rgba)
    np.testing.assert_array_equal(control_again.future_values, control.future_values)


@pytest.fixture(scope="module")
def walker_folder(tmp_path_factory, walker_sprite):
    sprite, control = walker_sprite
    return save_sprite(tmp_path_factory.mktemp("walker") / "walker", sprite, control)


def test_steer_says_in_place_fits_the_scale_and_walks_at_ground_speed(tmp_path, walker_folder, capsys):
    """The walker (about 85 px tall) on a 240 px tall background: shown at most 80 px tall; said
    to be in place; --ground-speed sets its travel in background px/s."""
    from engine.sprite import SpriteTexture, subject_extent
    from precompute.control import load_sprite

    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps([{"t": 0, "x": 300, "y": 120}]))
    log = tmp_path / "walk.json"
    assert main(["steer", str(walker_folder), "--targets", str(targets), "--headless", "--log", str(log),
                 "--duration", "2", "--size", "640x240", "--ground-speed", "45"]) == 0
    out = capsys.readouterr().out
    assert "in place: a gait of 24" in out and "walks at 45 px/s" in out
    data = json.loads(log.read_text())
    height = subject_extent(load_sprite(walker_folder)[0])[0]
    assert data["scale"] * height <= 240 / 3 + 1e-6
    travel = np.hypot([e["vx"] for e in data["frames"]], [e["vy"] for e in data["frames"]])
    assert travel.mean() * data["fps"] == pytest.approx(45, rel=0.05)


def test_info_on_a_sprite_says_whether_it_moves_in_place(walker_folder, sprite_folder, capsys):
    assert main(["info", str(walker_folder)]) == 0
    out = capsys.readouterr().out
    gait = [line for line in out.splitlines() if line.startswith("gait")]
    assert len(gait) == 1 and "in place: a gait of 24" in gait[0]
    assert main(["info", str(sprite_folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["gait"]["in_place"] is False and data["frames"] == 420

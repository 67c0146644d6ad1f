"""Issue 14: a sprite is one subject (identity), extraction streams in bounded memory, the cropped
format (version 2) and `info SPRITE`'s speed and headings."""
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import engine.cli
from precompute.control import (ControlConfig, analyze_control, frame_colours, load_sprite, save_sprite,
                                sprite_features)
from precompute.errors import AnalysisError, ClipError
from precompute.sprites import ExtractionConfig, SpriteClip, extract_sprite, extract_sprites
from tests.sprites.conftest import _blob
from tests.sprites.subjects import CROSSING_RADIUS, crossing_clip, crossing_paths

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def crossing():
    return crossing_clip()


def _owner(sprite):
    """Per sprite frame: 0 when its centroid is the red disc's centre, 1 the blue one's, -1 neither."""
    red, blue = crossing_paths()
    t = sprite.source_frames
    to_red = np.hypot(*(sprite.positions - red[t]).T)
    to_blue = np.hypot(*(sprite.positions - blue[t]).T)
    return np.where(to_red < 1.0, 0, np.where(to_blue < 1.0, 1, -1))


def _mean_colours(sprite):
    return frame_colours(sprite_features(sprite, feature_width=16))


def test_crossing_subjects_are_two_sprites_never_one_segment(crossing):
    """Red and blue discs of one size meet, stay merged (one blob) for 30 frames, and part the way
    they came: position alone cannot tell which is which when they part; colour can."""
    sprites = extract_sprites(crossing, fps=30.0, config=ExtractionConfig(method="difference", mirror=False), every=True)
    assert len(sprites) == 2
    owners = [_owner(s) for s in sprites]
    for sprite, owner in zip(sprites, owners):
        assert (owner >= 0).all()  # every frame is one disc, centred on it
        assert len(set(owner.tolist())) == 1  # ... and always the same disc, in every segment
        # merged frames are never kept: the discs overlap while closer than two radii
        red, blue = crossing_paths()
        gap = np.hypot(*(red - blue).T)[sprite.source_frames]
        assert gap.min() > 2 * CROSSING_RADIUS
        # both sides of the merge are kept: the subject is followed through it, by appearance
        assert sprite.source_frames.min() < 45 and sprite.source_frames.max() > 75
    assert {int(o[0]) for o in owners} == {0, 1}
    by_owner = {int(o[0]): s for s, o in zip(sprites, owners)}
    red_colour, blue_colour = _mean_colours(by_owner[0]), _mean_colours(by_owner[1])
    assert (red_colour[:, 0] > 2 * red_colour[:, 2]).all()  # every frame of one is red
    assert (blue_colour[:, 2] > 2 * blue_colour[:, 0]).all()  # every frame of the other blue


def test_default_is_the_longest_seen_and_pick_chooses_by_point(crossing):
    red, blue = crossing_paths()
    config = ExtractionConfig(method="difference", mirror=False)
    longest = extract_sprite(crossing, fps=30.0, config=config)
    both = extract_sprites(crossing, fps=30.0, config=config, every=True)
    assert longest.n_frames == max(s.n_frames for s in both)
    x, y = blue[100]
    picked = extract_sprite(crossing, fps=30.0, config=ExtractionConfig(method="difference", mirror=False, pick=(x + 3, y - 2, 100)))
    assert (_owner(picked) == 1).all()
    x, y = red[0]
    picked = extract_sprite(crossing, fps=30.0, config=ExtractionConfig(method="difference", mirror=False, pick=(x, y)))
    assert (_owner(picked) == 0).all()
    with pytest.raises(ClipError, match="no subject at that point"):
        extract_sprite(crossing, fps=30.0, config=ExtractionConfig(method="difference", mirror=False, pick=(100, 5, 0)))


def test_no_link_joins_two_subjects():
    """A sprite clip holding a red and a blue disc (two segments of 30 frames, the same size and
    pulse): without an identity term the cheapest 48 jumps of a frame would include the other
    colour's frames; no link may join them."""
    frames, segments = [], []
    for k, colour in enumerate(((210, 60, 50), (50, 80, 220))):
        for t in range(30):
            frames.append(_blob(colour, 8 + 1.5 * np.sin(2 * np.pi * t / 10)))
            segments.append(k)
    angle = np.linspace(0, 4 * np.pi, 60)
    velocities = np.stack([np.cos(angle), np.sin(angle)], axis=1) * 2
    sprite = SpriteClip.from_arrays(np.stack(frames), velocities, fps=30.0, segments=np.array(segments))
    control = analyze_control(sprite, ControlConfig(feature_width=12, speed_quantiles=(0.5,)))
    sources = np.repeat(np.arange(sprite.n_frames), np.diff(control.link_offsets))
    colour = np.array(segments)
    assert (colour[sources] == colour[control.link_targets]).all()
    assert control.link_targets.size > 60  # there are jumps, within each colour


def test_extraction_memory_does_not_grow_with_the_clip():
    """Peak RSS growth of extracting a streamed 1280x720 clip (a small disc: the output is tiny)
    for 30 and for 120 frames: O(clip) would add 90 frames x 2.6 MB = 237 MB; allow 10 frames."""
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    runs = [subprocess.Popen([sys.executable, "-m", "tests.sprites._memory_probe", str(n)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for n in (30, 120)]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-2000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    short, long = results
    assert long["kept"] >= 100  # the disc was followed: the work was done
    frame_mb = long["frame_mb"]
    assert long["growth_mb"] - short["growth_mb"] < 10 * frame_mb, results
    assert long["growth_mb"] < 45 * frame_mb, results  # the plate sample (31 frames) and one frame's work


def test_frames_are_stored_cropped_and_round_trip(tmp_path, crossing):
    sprite = extract_sprite(crossing, fps=30.0, config=ExtractionConfig(method="difference", mirror=True))
    side = sprite.size
    for i in (0, sprite.n_frames // 2, sprite.n_frames - 1):
        x0, y0, crop = sprite.crop(i)
        assert crop.shape[0] < side or crop.shape[1] < side or side < 40
        whole = sprite.frame(i)
        assert whole.shape == (side, side, 4)
        np.testing.assert_array_equal(whole[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]], crop)
        outside = whole.copy()
        outside[y0:y0 + crop.shape[0], x0:x0 + crop.shape[1]] = 0
        assert not outside.any()
        # registered: the alpha centroid is the square's centre
        a = whole[..., 3].astype(np.float64)
        ys, xs = np.mgrid[0:side, 0:side]
        centre = ((xs * a).sum() / a.sum(), (ys * a).sum() / a.sum())
        assert np.allclose(centre, ((side - 1) / 2, (side - 1) / 2), atol=0.3)
    folder = save_sprite(tmp_path / "s", sprite)
    loaded, _, manifest = load_sprite(folder)
    assert manifest["format_version"] == 2
    np.testing.assert_array_equal(loaded.rgba, sprite.rgba)
    # the documented layout, read without the project's code
    with np.load(folder / "sprite.npz", allow_pickle=False) as data:
        size = int(data["size"])
        x0, y0, w, h = data["crop_boxes"][3]
        crop = data["pixels"][data["crop_offsets"][3]:data["crop_offsets"][4]].reshape(h, w, 4)
        frame = np.zeros((size, size, 4), np.uint8)
        frame[y0:y0 + h, x0:x0 + w] = crop
    np.testing.assert_array_equal(frame, sprite.frame(3))


def _rehash(folder):
    from precompute.bundle import sha256_file

    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["sprite.npz"] = sha256_file(folder / "sprite.npz")
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_old_and_tampered_sprites_are_refused(tmp_path, crossing, capsys):
    sprite = extract_sprite(crossing, fps=30.0, config=ExtractionConfig(method="difference", mirror=False))
    folder = save_sprite(tmp_path / "s", sprite)
    # crop offsets that do not match the boxes, with the manifest's hash made to match
    with np.load(folder / "sprite.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["crop_offsets"] = arrays["crop_offsets"].copy()
    arrays["crop_offsets"][2] += 4
    np.savez(folder / "sprite.npz", **arrays)
    _rehash(folder)
    with pytest.raises(AnalysisError, match="crop_offsets"):
        load_sprite(folder)
    # a version-1 sprite (dense rgba) is refused with one line that says what to do
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["format_version"] = 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert engine.cli.main(["info", str(folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "version 1" in err and "re-run" in err


def _png_folder(folder, frames):
    folder.mkdir()
    for t, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame_{t:04d}.png"), frame[:, :, ::-1])
    return folder


def test_cli_all_subject_pick_and_info(tmp_path, crossing, capsys):
    clip = _png_folder(tmp_path / "crossing", crossing)
    school = tmp_path / "school"
    common = ["--method", "difference", "--fps", "30", "--directions", "4", "--quiet"]
    assert engine.cli.main(["sprite", str(clip), "--all", "-o", str(school), *common]) == 0
    listing = json.loads((school / "manifest.json").read_text())
    assert listing["format"] == "framechain-sprite-set" and len(listing["sprites"]) == 2
    colours = []
    for item in listing["sprites"]:
        sprite, control, _ = load_sprite(school / item["folder"])
        assert control is not None
        colours.append(int(np.argmax(sprite.info["subject_colour"])))
    assert sorted(colours) == [0, 2]  # one red, one blue
    # running it again replaces its own folder
    assert engine.cli.main(["sprite", str(clip), "--all", "-o", str(school), *common]) == 0
    red, blue = crossing_paths()
    one = tmp_path / "blue.sprite"
    x, y = blue[100]
    assert engine.cli.main(["sprite", str(clip), "--pick", f"{x:.0f},{y:.0f},100", "-o", str(one), *common]) == 0
    sprite, _, _ = load_sprite(one)
    assert int(np.argmax(sprite.info["subject_colour"])) == 2
    with pytest.raises(SystemExit) as exit_:  # argparse: one or the other
        engine.cli.main(["sprite", str(clip), "--subject", "1", "--pick", "1,2", "-o", str(one), *common])
    assert exit_.value.code == 2
    assert engine.cli.main(["sprite", str(clip), "--pick", "1,two", "-o", str(one), *common]) == 2
    assert "--pick must be X,Y" in capsys.readouterr().err
    assert engine.cli.main(["sprite", str(clip), "--subject", "5", "-o", str(tmp_path / "x"), *common]) == 2
    assert "--subject 5" in capsys.readouterr().err
    capsys.readouterr()
    assert engine.cli.main(["info", str(school)]) == 0
    text = capsys.readouterr().out
    assert text.count("speed     natural") == 2 and text.count("headings") == 2


def test_info_sprite_says_speed_and_headings(disc_clip, tmp_path, capsys):
    """The star clip swims 3 px/frame at 30 fps, out and back along 8 directions (10 frames a leg):
    90 px/s, and every one of the 8 headings covered by ~20 frames."""
    from engine.commands.info import sprite_motion

    sprite = extract_sprite(disc_clip[0], fps=30.0, config=ExtractionConfig(method="difference", mirror=False))
    motion = sprite_motion(sprite)
    assert motion["natural_speed_px_s"] == pytest.approx(90.0, rel=0.05)
    assert motion["covered"] == 8
    assert all(14 <= count <= 24 for count in motion["rose"].values()), motion["rose"]
    folder = save_sprite(tmp_path / "star", sprite)
    assert engine.cli.main(["info", str(folder)]) == 0
    text = capsys.readouterr().out
    import re

    said = float(re.search(r"natural ([0-9.]+) px/s", text).group(1))
    assert said == pytest.approx(90.0, rel=0.05)
    assert "E " in text and "NW " in text
    assert engine.cli.main(["info", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["rose"] == motion["rose"]

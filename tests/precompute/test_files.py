"""The input and output policy (precompute/files.py) and the integrity checks of a saved analysis
(issue 16 items 1, 2, 4 and 5), on tiny synthetic clips."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from precompute import analyze_clip, load_analysis
from precompute.errors import AnalysisError, ClipError, ConfigError, ExportError
from precompute.files import OutputPlan, check_input, made_by_framechain, replace_folder, temp_folder
from tests.synthetic import cycle_frames, write_image_folder


@pytest.fixture
def clip(tmp_path):
    return write_image_folder(cycle_frames(period=8, repeats=4), tmp_path / "clip")


@pytest.fixture
def analysis(clip, tmp_path):
    return analyze_clip(clip, out=tmp_path / "ana", progress=False)


def test_only_files_and_folders_are_inputs(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(ClipError, match="FIFO"):
        check_input(tmp_path / "pipe")
    with pytest.raises(ClipError, match="device"):
        check_input("/dev/zero")
    with pytest.raises(ClipError, match="no such file"):
        check_input(tmp_path / "nothing")
    assert check_input(tmp_path) == tmp_path


def test_a_hard_link_to_the_input_is_the_input(tmp_path):
    (tmp_path / "in.json").write_text('{"format": "framechain-playlog"}')
    os.link(tmp_path / "in.json", tmp_path / "out.json")  # another name, the same inode
    plan = OutputPlan(inputs=[tmp_path / "in.json"], force=True).add("--log", tmp_path / "out.json")
    with pytest.raises(ExportError, match="input"):
        plan.check()


def test_an_empty_output_path_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="--log"):
        OutputPlan().add("--log", "")


def test_only_our_own_files_are_ours(tmp_path, analysis):
    (tmp_path / "ours.json").write_text('{"format": "framechain-stats"}')
    (tmp_path / "theirs.json").write_text('{"format": "something-else"}')
    (tmp_path / "theirs.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert made_by_framechain(tmp_path / "ours.json")
    assert not made_by_framechain(tmp_path / "theirs.json")
    assert not made_by_framechain(tmp_path / "theirs.mp4")
    assert made_by_framechain(analysis.path)
    (analysis.path / "bridges").mkdir()
    (analysis.path / "bridges" / "notes.txt").write_text("mine")  # a user's file, one level down
    assert not made_by_framechain(analysis.path)
    (analysis.path / "bridges" / "notes.txt").unlink()
    assert made_by_framechain(analysis.path)  # an empty bridges/ holds nothing to lose
    (analysis.path / "notes.txt").write_text("mine")  # a user's file inside: no longer all ours
    assert not made_by_framechain(analysis.path)


def test_replacing_a_folder_never_empties_a_users_folder(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "keep.txt").write_text("mine")
    temp = temp_folder(user)
    (temp / "manifest.json").write_text('{"format": "framechain-analysis", "files": {}}')
    with pytest.raises(ExportError, match="did not write"):
        replace_folder(temp, user)
    assert (user / "keep.txt").read_text() == "mine"
    assert not temp.exists()  # and the new folder is not left behind
    assert sorted(p.name for p in tmp_path.iterdir()) == ["user"]


def test_analysis_again_into_its_own_folder_replaces_it(clip, analysis, tmp_path):
    again = analyze_clip(clip, out=analysis.path, progress=False)
    assert again.n_frames == 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ana", "clip"]  # no old copy left


def test_everything_written_has_ordinary_permissions(analysis):
    from precompute.analysis import analysis_flows

    umask = os.umask(0o022)
    os.umask(umask)
    analysis_flows(analysis, progress=False)  # writes flows.npz and flows.json beside it
    assert stat.S_IMODE(analysis.path.stat().st_mode) == 0o777 & ~umask
    for name in ("manifest.json", "analysis.npz", "frames.u8", "flows.npz", "flows.json"):
        assert stat.S_IMODE((analysis.path / name).stat().st_mode) == 0o666 & ~umask, name


def test_the_store_hash_covers_every_byte(tmp_path):
    """One byte changed where the old 8 x 1 MiB sampled hash did not look is found on load."""
    frames = cycle_frames(period=8, repeats=3, height=360, width=480)  # 24 x 518 kB = 12.4 MB
    clip = write_image_folder(frames, tmp_path / "big")
    analysis = analyze_clip(clip, out=tmp_path / "ana", progress=False)
    store = analysis.path / "frames.u8"
    size = store.stat().st_size
    offset = 1 << 20 | 4096  # past the first sample, before the second ((size - 1 MiB) / 7)
    assert offset + 1 < (size - (1 << 20)) // 7
    del analysis
    with open(store, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(AnalysisError, match="frames.u8 does not match"):
        load_analysis(tmp_path / "ana")


@pytest.mark.parametrize("field, value", [
    ("fps", 0), ("fps", -30), ("fps", "30"), ("fps", float("nan")), ("fps", 1e9), ("fps", True),
    ("n_frames", 31), ("n_frames", 32.0), ("store", {"frames": 32, "height": -32, "width": 40}),
    ("store", None), ("files", {"analysis.npz": 5}), ("files", {"../elsewhere": "0" * 64}),
    ("source", []), ("config", {"alpha": 2.0}),
])
def test_manifest_fields_are_checked_on_load(analysis, field, value):
    path = analysis.path / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest[field] = value
    path.write_text(json.dumps(manifest))
    with pytest.raises(AnalysisError, match=field):
        load_analysis(analysis.path)


def test_links_out_of_the_store_are_refused(analysis):
    from precompute.bundle import sha256_file

    arrays = dict(np.load(analysis.path / "analysis.npz"))
    arrays["link_targets"] = arrays["link_targets"].copy()
    arrays["link_targets"][3] = 10_000  # beyond the 32 frames
    np.savez(analysis.path / "analysis.npz", **arrays)
    manifest = json.loads((analysis.path / "manifest.json").read_text())
    manifest["files"]["analysis.npz"] = sha256_file(analysis.path / "analysis.npz")  # hash kept right
    (analysis.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AnalysisError, match="links"):
        load_analysis(analysis.path)


# --- decoding: damage and a variable rate are said --------------------------------------------
def _mp4(tmp_path, frames, name="clip.mp4"):
    from precompute.video_io import write_frames

    return write_frames(tmp_path / name, frames, fps=30)  # faststart: the index comes first


def test_a_cut_short_mp4_is_an_error_or_a_warning(tmp_path):
    from precompute.video_io import decode_clip, open_clip

    frames = np.random.default_rng(0).integers(0, 255, (90, 48, 64, 3), dtype=np.uint8)
    clip = _mp4(tmp_path, frames)
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])
    with pytest.raises(ClipError, match="--allow-truncated"):
        decode_clip(clip)
    with open_clip(clip, allow_truncated=True) as reader:
        kept = sum(1 for _ in reader)
        notes = reader.notes
    assert 0 < kept < 90
    assert any(f"kept the {kept} frames" in note for note in notes)


def test_a_cut_short_webm_is_an_error(tmp_path):
    """webm has no frame index; its header's duration shows the cut."""
    from precompute.video_io import decode_clip

    frames = np.random.default_rng(0).integers(0, 255, (90, 48, 64, 3), dtype=np.uint8)
    clip = _mp4(tmp_path, frames, name="clip.webm")
    assert decode_clip(clip)[0].shape[0] == 90
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])
    with pytest.raises(ClipError, match="cut short"):
        decode_clip(clip)


def test_a_whole_mp4_decodes_without_notes(tmp_path):
    from precompute.video_io import open_clip

    frames = np.random.default_rng(0).integers(0, 255, (30, 48, 64, 3), dtype=np.uint8)
    with open_clip(_mp4(tmp_path, frames)) as reader:
        assert sum(1 for _ in reader) == 30
        assert reader.notes == []


def test_a_variable_frame_rate_is_said(tmp_path):
    from PIL import Image

    from precompute.video_io import open_clip

    path = tmp_path / "vfr.gif"  # GIFs carry a delay per frame: here 40 ms, and 100 ms twice
    images = [Image.fromarray(np.full((48, 64, 3), k * 20, np.uint8)) for k in range(10)]
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=[40, 40, 40, 100, 40, 40, 40, 100, 40, 40])
    with open_clip(path) as reader:
        assert sum(1 for _ in reader) == 10
        assert any("variable frame rate (frame durations 40-100 ms)" in note for note in reader.notes)


def test_a_constant_rate_gif_says_nothing(tmp_path):
    from PIL import Image

    from precompute.video_io import open_clip

    path = tmp_path / "cfr.gif"
    images = [Image.fromarray(np.full((48, 64, 3), k * 20, np.uint8)) for k in range(10)]
    images[0].save(path, save_all=True, append_images=images[1:], loop=0, duration=40)
    with open_clip(path) as reader:
        assert sum(1 for _ in reader) == 10
        assert reader.notes == []

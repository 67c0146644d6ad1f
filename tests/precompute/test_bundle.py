import json
import shutil

import numpy as np
import pytest

from precompute import AnalysisError, analysis_for, analyze_clip, load_analysis
from precompute.bundle import FORMAT_VERSION
from tests.synthetic import cycle_frames, tamper, write_image_folder


@pytest.fixture
def clip(tmp_path):
    return write_image_folder(cycle_frames(period=8, repeats=4), tmp_path / "cycle")


@pytest.fixture
def saved(clip, tmp_path):
    return analyze_clip(clip, out=tmp_path / "cycle.fc", progress=False)


def test_round_trip_keeps_arrays_frames_and_settings(saved, clip):
    loaded = load_analysis(saved.path, clip=clip)
    assert loaded.n_frames == 32 and loaded.frames.shape == (32, 32, 40, 3)
    assert np.array_equal(loaded.link_targets, saved.link_targets)
    assert loaded.config == saved.config
    assert loaded.source["frames"] == 32 and loaded.fps == 30.0
    original = cycle_frames(period=8, repeats=4)
    assert np.array_equal(np.asarray(loaded.frames), original)  # the store is lossless
    with pytest.raises(ValueError):
        loaded.link_targets[0] = 5  # read-only


def test_tampered_arrays_are_refused(saved):
    tamper(saved.path / "analysis.npz")
    with pytest.raises(AnalysisError, match="analysis.npz does not match"):
        load_analysis(saved.path)


def test_truncated_store_is_refused(saved):
    store = saved.path / "frames.u8"
    store.write_bytes(store.read_bytes()[:-100])
    with pytest.raises(AnalysisError, match="frames.u8"):
        load_analysis(saved.path)


def test_future_version_is_refused(saved):
    manifest = saved.path / "manifest.json"
    data = json.loads(manifest.read_text())
    data["format_version"] = FORMAT_VERSION + 1
    manifest.write_text(json.dumps(data))
    with pytest.raises(AnalysisError, match="format version"):
        load_analysis(saved.path)


def test_foreign_clip_is_refused(saved, tmp_path):
    other = write_image_folder(cycle_frames(period=8, repeats=4, seed=5), tmp_path / "other")
    with pytest.raises(AnalysisError, match="another clip"):
        load_analysis(saved.path, clip=other)


def test_not_an_analysis_says_what_to_do(tmp_path):
    with pytest.raises(AnalysisError, match="framechain analyze"):
        load_analysis(tmp_path)


def test_cache_returns_the_same_analysis_without_recomputing(clip):
    first = analysis_for(clip, progress=False)
    second = analysis_for(clip, progress=False)
    assert first.path == second.path
    assert (first.path / "manifest.json").stat().st_mtime == (second.path / "manifest.json").stat().st_mtime


def test_a_damaged_cache_entry_is_made_again(clip):
    first = analysis_for(clip, progress=False)
    (first.path / "analysis.npz").write_bytes(b"garbage")
    again = analysis_for(clip, progress=False)
    assert np.array_equal(again.link_targets, first.link_targets)


def test_failed_analysis_leaves_no_partial_folder(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    with pytest.raises(Exception):
        analyze_clip(bad, out=tmp_path / "bad.fc", progress=False)
    assert not (tmp_path / "bad.fc").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["bad.mp4"]

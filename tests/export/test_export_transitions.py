"""Jumps rendered with morph, cut and generated bridges in exported loops."""
import json

import numpy as np
import pytest

from engine.export import ExportConfig, export_loop
from precompute.video_io import decode_clip


def test_cut_shows_only_real_frames(known_loop_analysis, tmp_path):
    result = export_loop(known_loop_analysis, tmp_path / "cut", seconds=40 / 30, progress=False,
                         config=ExportConfig(transitions="cut"))
    assert all(len(blend) == 1 for blend in result.blends)
    decoded, _ = decode_clip(tmp_path / "cut")
    np.testing.assert_array_equal(decoded, known_loop_analysis.frames[result.source_frames])


def test_morph_renders_the_wrap_jump(known_loop_analysis, tmp_path):
    # a 30-frame loop needs a jump that costs something: the morph warps around it
    config = ExportConfig(transitions="morph", fade_frames=4)
    result = export_loop(known_loop_analysis, tmp_path / "morph.png", seconds=1.0, progress=False,
                         config=config)
    decoded, _ = decode_clip(tmp_path / "morph.png")
    assert decoded.shape[0] == result.frames == result.loop.length
    blended = [t for t, blend in enumerate(result.blends) if len(blend) == 2]
    assert blended  # frames around the jump are two-way blends (warped)
    crossfade = export_loop(known_loop_analysis, tmp_path / "fade.png", seconds=1.0, progress=False)
    faded, _ = decode_clip(tmp_path / "fade.png")
    assert crossfade.blends == result.blends  # same path and weights; only the pictures differ
    assert any(np.abs(decoded[t].astype(int) - faded[t]).max() > 0 for t in blended)


def fake_bridges(analysis, source, target, images):
    from precompute.bridges import Bridges

    k = len(images)
    return Bridges(path=None, n_frames=int(analysis.n_frames), frames=np.stack(images),
                   sources=np.array([source], np.int32), targets=np.array([target], np.int32),
                   exits=np.array([target + k], np.int32), offsets=np.array([0, k], np.int64),
                   links={})


def test_generated_bridges_replace_the_frames_after_the_jump(known_loop_analysis, tmp_path,
                                                            monkeypatch):
    a = known_loop_analysis
    height, width = a.frames.shape[1:3]
    images = [np.full((height, width, 3), value, np.uint8) for value in (10, 240)]
    import precompute.bridges

    monkeypatch.setattr(precompute.bridges, "load_bridges",
                        lambda analysis: fake_bridges(analysis, 49, 10, images))
    log = tmp_path / "play.json"
    result = export_loop(a, tmp_path / "gen.png", seconds=40 / 30, progress=False, log=log,
                         config=ExportConfig(transitions="generated"))
    frames = result.source_frames.tolist()
    after = (frames.index(49) + 1) % 40  # where the wrap/jump lands
    decoded, _ = decode_clip(tmp_path / "gen.png")
    assert decoded.shape[0] == 40
    np.testing.assert_array_equal(decoded[after], images[0])
    np.testing.assert_array_equal(decoded[(after + 1) % 40], images[1])
    # the frame after the bridge is the real j + K, unblended
    np.testing.assert_array_equal(decoded[(after + 2) % 40], a.frames[12])
    data = json.loads(log.read_text())
    assert data["generated"][str(after)] == {"bridge": [49, 12], "step": 1, "of": 2,
                                             "store_index": int(a.n_frames)}
    assert data["frames"][after] == [[49, pytest.approx(2 / 3)], [12, pytest.approx(1 / 3)]]
    assert all(0 <= i < a.n_frames for entry in data["frames"] for i, _ in entry)


def test_generated_without_bridges_says_so_and_morphs(known_loop_analysis, tmp_path):
    result = export_loop(known_loop_analysis, tmp_path / "gen.png", seconds=1.0, progress=False,
                         config=ExportConfig(transitions="generated"))
    assert result.notes and "no generated bridges" in result.notes[0]
    assert result.generated == {}

"""The player loop, headless (SDL dummy driver), and the `framechain play` command."""
import json

import numpy as np
import pytest

from engine.player import PlayerConfig, play, write_play_log, write_stats
from engine.playback import PlaybackConfig
from engine.render import compose
from precompute.errors import ConfigError
from tests.engine.textures import chain_texture, coloured_frames


def test_headless_play_shows_what_the_log_says(tmp_path):
    texture = chain_texture(40, frames=coloured_frames(40, 48, 64))
    snapshots = []
    result = play(texture, playback=PlaybackConfig(seed=3, variety=2.0),
                  config=PlayerConfig(headless=True, frames=300, controls=False, keep_log=True, keep_timings=True),
                  on_frame=lambda index, blend, window: snapshots.append(window.snapshot()))
    assert len(result.frames) == len(snapshots) == len(result.frame_ms) == 300
    assert result.size == (64, 48)
    assert sum(len(entry) > 1 for entry in result.frames) > 20  # jumps were crossfaded
    log_path = write_play_log(tmp_path / "play.json", result, source="synthetic", fps=texture.fps)
    log = json.loads(log_path.read_text())
    assert log["format"] == "framechain-playlog" and log["format_version"] == 1
    assert log["source"] == "synthetic" and log["fps"] == 30.0
    for k, entry in enumerate(log["frames"]):
        assert abs(sum(w for _, w in entry) - 1) < 1e-9
        rerendered = compose(texture.frames, [(int(i), w) for i, w in entry])
        assert np.array_equal(snapshots[k], rerendered), k


def test_headless_play_is_reproducible_and_writes_stats(tmp_path):
    texture = chain_texture()
    config = PlayerConfig(headless=True, frames=120, controls=False, keep_log=True, keep_timings=True)
    first = play(texture, playback=PlaybackConfig(seed=9), config=config)
    second = play(texture, playback=PlaybackConfig(seed=9), config=config)
    assert first.frames == second.frames
    stats = json.loads(write_stats(tmp_path / "stats.json", first).read_text())
    assert len(stats["frame_ms"]) == 120 and stats["size"] == [32, 24]
    assert all(v >= 0 for v in stats["frame_ms"])


def test_cut_and_morph_transitions_run_headless():
    texture = chain_texture()
    cut = play(texture, playback=PlaybackConfig(seed=1),
               config=PlayerConfig(headless=True, frames=60, controls=False, keep_log=True, transitions="cut"))
    assert all(len(entry) == 1 for entry in cut.frames)
    morph = play(texture, playback=PlaybackConfig(seed=1),
                 config=PlayerConfig(headless=True, frames=60, controls=False, keep_log=True, transitions="morph"))
    crossfade = play(texture, playback=PlaybackConfig(seed=1),
                     config=PlayerConfig(headless=True, frames=60, controls=False, keep_log=True))
    assert morph.frames == crossfade.frames  # same choices; only the pictures differ
    with pytest.raises(ConfigError):
        play(texture, config=PlayerConfig(headless=True, frames=0))


def run_play(argv) -> int:
    """`framechain play ARGV` through the command module itself (the CLI's other commands are
    not this test's business)."""
    import argparse

    from engine.commands import play as command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv))


def test_play_command_on_a_clip(tmp_path):
    from precompute.video_io import write_frames

    # a 60-frame clip that repeats every 20 frames: analysis finds the loop jumps
    base = coloured_frames(20, 32, 48)
    clip = tmp_path / "clip"
    write_frames(clip, np.concatenate([base, base, base]), fps=20)
    stats, log = tmp_path / "stats.json", tmp_path / "play.json"
    code = run_play([str(clip), "--headless", "--frames", "300", "--stats", str(stats),
                 "--log", str(log), "--seed", "2"])
    assert code == 0
    stats = json.loads(stats.read_text())
    assert len(stats["frame_ms"]) == 300 and stats["size"] == [48, 32]
    log = json.loads(log.read_text())
    assert len(log["frames"]) == 300 and log["fps"] > 0 and log["source"].endswith("clip")
    assert all(0 <= i < 60 for entry in log["frames"] for i, _ in entry)
    with pytest.raises(ConfigError, match="--frames"):  # the CLI prints it and exits 2
        run_play([str(clip), "--headless"])
    # the texture re-derives exactly the analysis' own probabilities at variety 1
    from engine.texture import VideoTexture
    from precompute import analysis_for

    analysis = analysis_for(clip, progress=False)  # cached by the play command
    texture = VideoTexture.from_analysis(analysis)
    np.testing.assert_allclose(texture.link_probabilities(), analysis.link_probabilities, atol=1e-6)
    assert np.shares_memory(texture.frames, analysis.frames)

import json
import subprocess
import sys

import pytest

from engine.cli import main
from tests.synthetic import cycle_frames, write_image_folder


@pytest.fixture
def clip(tmp_path):
    return write_image_folder(cycle_frames(period=8, repeats=4), tmp_path / "cycle")


def test_analyze_info_plot(clip, tmp_path, capsys):
    out = tmp_path / "cycle.fc"
    assert main(["analyze", str(clip), "-o", str(out), "--quiet"]) == 0
    assert (out / "manifest.json").is_file()
    assert main(["info", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert info["frames"] == 32 and info["jump_links"] > 0
    assert info["best_jumps"][0]["cost_in_natural_steps"] < 0.01  # a period-8 cycle jumps for free
    png = tmp_path / "plot.png"
    assert main(["plot", str(out), "-o", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_settings_flags_reach_the_analysis(clip, tmp_path):
    out = tmp_path / "a"
    assert main(["analyze", str(clip), "-o", str(out), "--quiet", "--alpha", "0.99", "--filter-taps", "1"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["alpha"] == 0.99 and manifest["config"]["filter_half_taps"] == 1


def test_known_errors_are_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    result = subprocess.run([sys.executable, "-m", "engine.cli", "analyze", str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("framechain: error:") and str(bad) in lines[0]


def test_bad_setting_is_a_clear_error(clip, capsys):
    assert main(["analyze", str(clip), "--alpha", "1.5", "--quiet"]) == 2
    assert "alpha must be in (0, 1)" in capsys.readouterr().err


def test_batch_analyze_reports_the_failed_clip_and_saves_the_others(clip, tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    out = tmp_path / "analyses"
    assert main(["analyze", str(clip), str(bad), "--jobs", "2", "-o", str(out), "--quiet"]) == 2
    assert (out / "cycle" / "manifest.json").is_file()
    err = capsys.readouterr().err
    assert "bad.mp4" in err and "1 of 2 clips failed" in err

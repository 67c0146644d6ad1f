"""`framechain loops` and `framechain export` on a saved analysis."""
import numpy as np

from conftest import PERIOD
from engine.cli import main
from precompute.video_io import decode_clip


def test_loops_lists_lengths_with_costs(periodic_analysis, capsys):
    assert main(["loops", str(periodic_analysis.path), "--max-seconds", "2", "--rows", "5"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    lengths = [int(row[0]) for row in rows if row[2] != "-"]
    assert lengths and all(length % PERIOD == 0 for length in lengths)
    assert all(float(row[2]) < 1e-3 for row in rows if row[2] != "-")


def test_export_says_which_length_it_chose(known_loop_analysis, tmp_path, capsys):
    out = tmp_path / "loop.gif"
    log = tmp_path / "play.json"
    code = main(["export", str(known_loop_analysis.path), "-o", str(out), "--seconds", "1.3",
                 "--fade", "2", "--transitions", "cut", "--size", "20x12", "--log", str(log)])
    assert code == 0
    text = capsys.readouterr().out
    assert "loop length: 40 frames" in text and str(out) in text
    decoded, _ = decode_clip(out)
    assert decoded.shape == (40, 12, 20, 3)
    assert log.exists()


def test_export_errors_are_one_line(periodic_analysis, tmp_path, capsys):
    assert main(["export", str(periodic_analysis.path), "-o", str(tmp_path / "a.xyz"),
                 "--seconds", "1"]) == 2
    assert "unknown output type" in capsys.readouterr().err
    # no loop of 0.2 s (6 frames) in a clip whose loops are multiples of 12 frames
    assert main(["export", str(periodic_analysis.path), "-o", str(tmp_path / "a.mp4"),
                 "--seconds", "0.2"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("framechain: error:") and "\n" not in err and "12" in err
    assert main(["export", str(periodic_analysis.path), "-o", str(tmp_path / "a.mp4"),
                 "--seconds", "1", "--size", "big"]) == 2
    assert list(tmp_path.iterdir()) == []

"""`framechain loops` and `framechain export` on a saved analysis."""

from export_synthetic import PERIOD
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
    # no loop of one frame (a loop needs 2 at least)
    assert main(["export", str(periodic_analysis.path), "-o", str(tmp_path / "a.mp4"),
                 "--seconds", "0.03"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("framechain: error:") and "\n" not in err and "no seamless loop" in err
    assert main(["export", str(periodic_analysis.path), "-o", str(tmp_path / "a.mp4"),
                 "--seconds", "1", "--size", "big"]) == 2
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_export_says_nothing_was_left(periodic_analysis, tmp_path, capsys, monkeypatch):
    from precompute.video_io import VideoWriter

    original = VideoWriter._write

    def interrupted(self, frame):
        if self.frames_written == 3:
            raise KeyboardInterrupt
        return original(self, frame)

    monkeypatch.setattr(VideoWriter, "_write", interrupted)
    out = tmp_path / "a.webm"
    assert main(["export", str(periodic_analysis.path), "-o", str(out), "--seconds", "1.2"]) == 130
    assert "no partial file" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_folder_output_by_trailing_slash(periodic_analysis, tmp_path):
    out = tmp_path / "frames.v1"
    assert main(["export", str(periodic_analysis.path), "-o", f"{out}/", "--seconds", "1.2"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names[0] == "frame_000000.png" and len(names) == 36

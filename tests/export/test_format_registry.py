"""Export formats are writer classes registered by suffix (precompute.video_io.register_writer):
one declared in this file, with no edit anywhere else, is written by `framechain export -o`."""
import numpy as np
import pytest

import precompute.video_io as video_io
from engine.cli import main
from precompute.errors import ExportError
from precompute.video_io import AvWriter, decode_clip, register_writer, writer_kind


class _MkvWriter(AvWriter):
    """Lossless FFV1 in Matroska: what it writes decodes to exactly the frames given."""

    SUFFIXES, KIND = (".mkv",), "mkv"
    CONTAINER, CODEC, PIX_FMT = "matroska", "ffv1", "bgr0"
    NO_ALPHA = "this test's writer takes RGB frames only"


@pytest.fixture
def mkv(monkeypatch):
    writer_kind("x.mp4")  # the built-in writers are found first, then the registry is copied
    monkeypatch.setattr(video_io, "_WRITERS", dict(video_io._WRITERS))  # undone after the test
    monkeypatch.setattr(video_io, "WRITER_SUFFIXES", dict(video_io.WRITER_SUFFIXES))
    return register_writer(_MkvWriter)


def test_an_unregistered_suffix_is_refused_and_names_the_formats(tmp_path):
    with pytest.raises(ExportError, match=r"unknown output type '\.mkv'; use \.mp4, \.webm, \.gif, \.png"):
        writer_kind(tmp_path / "loop.mkv")


def test_a_registered_format_is_written_by_export(mkv, known_loop_analysis, tmp_path):
    assert writer_kind(tmp_path / "loop.MKV") == "mkv"
    path = str(known_loop_analysis.path)
    folder, mkv_out = tmp_path / "frames", tmp_path / "loop.mkv"
    for out in (folder, mkv_out):
        assert main(["export", path, "-o", str(out), "--seconds", "1.3"]) == 0
    expected, _ = decode_clip(folder)  # numbered PNGs: lossless
    written, info = decode_clip(mkv_out)
    assert info.fps == pytest.approx(30.0)
    np.testing.assert_array_equal(written, expected)  # (40, 24, 40, 3), FFV1 is lossless
    assert not list(tmp_path.glob(".*part*"))  # the temporary file was renamed, none left
    with pytest.raises(ExportError, match="RGB frames only"):
        video_io.open_writer(tmp_path / "alpha.mkv", fps=30, size=(8, 8), alpha=True)

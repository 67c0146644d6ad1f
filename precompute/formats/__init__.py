"""Export formats beyond the built-in ones (mp4, webm, gif, animated png, PNG folders, in
precompute/video_io.py): each module here defines a writer class and registers it by suffix
(`precompute.video_io.register_writer`). Modules are imported on the first writer look-up, so a
new format is one new file here and no edit elsewhere; `framechain export -o NAME.SUFFIX` and
the player's recordings then take it.

A format FFmpeg encodes needs no `av` import (precompute/video_io.py stays the one module that
imports it): declare it on `AvWriter`:

    from precompute.video_io import AvWriter, register_writer

    @register_writer
    class MkvWriter(AvWriter):
        SUFFIXES, KIND = (".mkv",), "mkv"
        CONTAINER, CODEC, PIX_FMT = "matroska", "ffv1", "bgr0"
        NO_ALPHA = "this writer takes RGB frames only"
"""

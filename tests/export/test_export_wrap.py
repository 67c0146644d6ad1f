"""The wrap of an exported loop sits on its calmest step (the seam goal: wrap <= median step)."""
import numpy as np

from engine.export import ExportConfig, export_loop
from precompute.video_io import decode_clip
from tests.export.export_synthetic import steps


def test_exported_wrap_is_the_smallest_step_of_the_loop(known_loop_analysis, tmp_path):
    result = export_loop(known_loop_analysis, tmp_path / "loop", seconds=40 / 30,
                         config=ExportConfig(fade_frames=4), progress=False)
    decoded, _ = decode_clip(result.path)  # a PNG folder: lossless
    step = steps(decoded)  # (T,), the last entry is the wrap
    assert step[-1] <= np.median(step[:-1])
    assert step[-1] <= step[:-1].min() + 1e-6
    # rotating a cycle plays the same frames: the loop's frames are all there, once each
    assert sorted(result.source_frames.tolist()) == sorted(result.loop.frames.tolist())

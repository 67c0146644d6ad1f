"""Run in a subprocess by test_subjects.py: extract a sprite from a synthetic 1280x720 clip of
FRAMES frames, streamed (rendered a frame at a time), and print the growth of the peak RSS (MB)
during the extraction as JSON. Usage: python -m tests.sprites._memory_probe FRAMES"""
import json
import resource
import sys

from precompute.sprites import ExtractionConfig, extract_sprite
from tests.sprites.subjects import drifting_disc_frame, large_plate


def main() -> None:
    frames = int(sys.argv[1])
    plate = large_plate()

    def passes():
        for t in range(frames):
            yield drifting_disc_frame(t, plate=plate)

    for _ in passes():  # warm: rendering's own temporaries count before, not during
        break
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MB (Linux)
    sprite = extract_sprite(passes, fps=30.0, config=ExtractionConfig(method="difference"))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"frames": frames, "kept": sprite.n_frames, "growth_mb": after - before,
                      "frame_mb": plate.nbytes / 2**20}))


if __name__ == "__main__":
    main()

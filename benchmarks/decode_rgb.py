"""The yardstick process of issue 17: decode a clip to RGB arrays and nothing else.

    .venv/bin/python benchmarks/decode_rgb.py CLIP [--naive]

PyAV with FFmpeg's frame and slice threads (thread_type "AUTO") and one kept RGB converter: the
fastest plain way to have every frame as an (H, W, 3) uint8 array. `--naive`: the usual
`frame.to_ndarray(format="rgb24")`, which makes a new converter for every frame. Prints the frame
count. (A benchmark script, not part of framechain: it imports `av` itself.)
"""
import sys

import av
from av.video.reformatter import VideoReformatter


def main() -> None:
    naive = "--naive" in sys.argv
    path = [a for a in sys.argv[1:] if not a.startswith("--")][0]
    reformatter = VideoReformatter()
    count = 0
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            if naive:
                frame.to_ndarray(format="rgb24")
            else:
                reformatter.reformat(frame, format="rgb24").to_ndarray()
            count += 1
    print(count)


if __name__ == "__main__":
    main()

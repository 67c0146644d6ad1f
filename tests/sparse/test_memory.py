"""A 20,000-frame clip analyses sparsely in bounded memory (its dense matrices would take 4.8 GB)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

FRAMES = 20_000
ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh interpreter so the peak resident size belongs to this analysis alone. The
# features are written to a file in blocks and memory-mapped, as analyze_clip does for long clips.
SCRIPT = r"""
import json, resource, sys, time
import numpy as np
import psutil
from tests.sparse._clips import orbit_features
from precompute.config import AnalysisConfig
from precompute.sparse import sparse_links

n, path = int(sys.argv[1]), sys.argv[2]
warm = orbit_features(64)
sparse_links(warm)  # compile / load the numba kernels and FAISS outside the measurement
first = orbit_features(8)
with open(path, "wb") as out:
    for start in range(0, n, 2000):
        out.write(orbit_features(min(2000, n - start), seed=start).tobytes())
features = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, first.shape[1]))
def high_water():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
before = psutil.Process().memory_info().rss
peak_before = high_water()
try:
    with open("/proc/self/clear_refs", "w") as f:  # reset the peak: measure this call alone
        f.write("5")
except OSError:
    pass  # no reset here: the growth then includes the set-up's peak (an overestimate)
arrays, stats = sparse_links(features, config=AnalysisConfig())
peak = high_water()
print(json.dumps({"growth": max(0, peak - max(before, 0)), "peak_before": peak_before,
                  "peak": peak, "links": int(arrays["link_targets"].size),
                  "offsets": int(arrays["link_offsets"].size), "feature_bytes": features.nbytes,
                  "candidates": stats["sparse"]["candidate_transitions"],
                  "timings": stats["timings"]}))
"""


@pytest.mark.slow
def test_twenty_thousand_frames_in_bounded_memory(tmp_path):
    pytest.importorskip("psutil")
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(FRAMES), str(tmp_path / "f.u8")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    dense_bytes = 3 * 4 * FRAMES * FRAMES  # D, C and a filtered copy in float32
    assert report["offsets"] == FRAMES + 1 and report["links"] >= FRAMES - 1
    # O(N k): the candidate graph is ~N x 100 entries; allow 400 MB (one twelfth of dense),
    # the features memmap (20 MB) included
    assert report["growth"] < 400 * 2**20, report
    assert report["growth"] < dense_bytes / 12, report
    print(report)

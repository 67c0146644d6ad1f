"""Start-up (issue 17): modules import without numba, OpenCV or torch where a command does not
run their kernels; lazy kernels compile on their first call and give the numbers numba does."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from precompute.lazy_jit import lazy_njit

ROOT = Path(__file__).resolve().parents[2]


def test_loading_modules_import_no_numba_cv2_or_torch():
    """What `info` and every analysis load import (the link-graph check, the sprite checks, the
    features, the command line) leaves numba, OpenCV and torch unimported."""
    code = ("import sys\n"
            "import engine.cli, engine.commands.info, engine.commands.analyze\n"
            "import precompute.bundle, precompute.graph, precompute.features, precompute.control\n"
            "import precompute.analysis, precompute.warmup\n"
            "print(sorted(m for m in ('numba', 'cv2', 'torch', 'pygame') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout
    assert out.strip() == "[]"


@lazy_njit(cache=False)
def _row_sums(x, out):
    for i in numba.prange(x.shape[0]):  # noqa: F821 - numba: put in this module's globals on first call
        total = 0.0
        for j in range(x.shape[1]):
            total += x[i, j]
        out[i] = total
    return out


def test_lazy_kernel_compiles_on_first_call():
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    assert _row_sums.signatures == []
    got = _row_sums(x, np.empty(3))
    assert np.allclose(got, x.sum(axis=1))
    assert len(_row_sums.signatures) == 1 and _row_sums.__name__ == "_row_sums"

"""Start-up overlapped with decoding (issue 17): numba and the analysis' kernels are loaded on a
background thread while the main thread decodes the clip.

Importing numba, setting up its compiler and loading each kernel from the disk cache costs ~0.3 s
of CPU, and each of the ~15 kernels of the dense analysis ~10 ms more on its first call. Done
where they are first used, all of it would wait for the decoding to end and stretch the
process by that much; on the second core beside FFmpeg it costs no wall time. Loading a kernel
mostly runs in LLVM, which releases the GIL, so the decode loop keeps its pace.

The kernels are loaded by running the dense analysis on a few synthetic frames: the same code
path with the same array types loads exactly the kernels (and signatures) the real analysis
will call, and stays right as the analysis changes. It is best effort: a failure here only means
the analysis loads what it needs itself, as it would without the warm-up.
"""
from __future__ import annotations

import dataclasses
import threading

import numpy as np

from precompute.config import AnalysisConfig

__all__ = ["Warmup"]

_FRAMES = 32  # synthetic frames: enough for every stage of the dense analysis to run


def _synthetic_features(n: int, d: int) -> np.ndarray:
    """(n, d) float32 features of a smooth clip that loops twice: every stage finds jumps."""
    t = 2 * np.pi * np.arange(n) / (n / 2)
    rng = np.random.default_rng(0)
    basis = rng.normal(0, 1, (3, d))
    walk = np.stack([np.sin(t), np.cos(t), np.sin(3 * t) / 4], axis=1)  # (n, 3)
    return (128 + 30 * walk @ basis).astype(np.float32)


class Warmup:
    """Once started, loads the block-means kernel of the features first (`features_loaded` is
    set when it is there, or when loading it failed), then, when `dense` (still) holds, every
    kernel the dense analysis calls: the decode loop sets `dense` False when the clip's frame
    count says the sparse analysis will run, and an error does. `join()` waits for it to end
    (at once when it was never started). The decode loop starts it once the clip has opened:
    a file that is no video is refused without waiting for numba. `config`: the analysis'
    settings (they pick its branches, so its kernels)."""

    def __init__(self, *, dense: bool, config: AnalysisConfig | None = None,
                 feature_length: int = 3 * 8 * 8):
        self.features_loaded = threading.Event()
        self.dense = dense
        self._config = config  # the analysis' settings pick its branches, so its kernels
        # not a daemon: a process that ends early (Ctrl-C, a damaged clip) waits for it rather
        # than exiting while LLVM runs on this thread
        self._thread = threading.Thread(target=self._run, args=(max(3, feature_length),),
                                        name="framechain-warmup")

    def start(self) -> None:
        if self._thread.ident is None:
            self._thread.start()

    def _run(self, feature_length: int) -> None:
        try:
            from precompute.features import load_kernel

            load_kernel()
        except Exception:  # noqa: BLE001 - best effort (module doc)
            pass
        finally:
            self.features_loaded.set()
        if not self.dense:
            return
        try:
            from precompute.analysis import _block_finite_means, analyze_features

            config = dataclasses.replace(self._config or AnalysisConfig(), device="cpu")
            analyze_features(_synthetic_features(_FRAMES, feature_length), config)
            _block_finite_means(np.zeros((2, 2), np.float32), 1, 2)  # the previews of N > 512
        except Exception:  # noqa: BLE001 - best effort (module doc)
            pass

    def join(self) -> None:
        if self._thread.ident is not None:
            self._thread.join()

"""The torch render path (the one module that imports torch for rendering).

`TorchCompositor` composites blends like engine.render.Compositor, on a torch device: with CUDA
the frame store is uploaded to GPU memory once (when it fits) and each output frame costs one
weighted sum and one download. Output equals the CPU path within 1 grey level (both round to
nearest; ties may round differently). torch is imported inside the functions that need it.

Devices: "cuda" (an error if CUDA is absent), "cpu" (torch on the CPU: the reference for
tests), "auto" (CUDA when available, otherwise the CPU, and it says so on stderr).
"""
from __future__ import annotations

import sys

import numpy as np

from engine.transitions import Blend
from precompute.errors import ConfigError

__all__ = ["resolve_device", "TorchCompositor"]

_said = set()


def resolve_device(device: str = "auto", *, quiet: bool = False) -> str:
    """"auto" | "cpu" | "cuda" -> "cpu" or "cuda"; a fallback to the CPU is said once on stderr."""
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {device!r}")
    if device == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        raise ConfigError("device='cuda' was asked for but torch sees no CUDA device; "
                          "use device='auto' or 'cpu'")
    if not quiet and "auto" not in _said:
        _said.add("auto")
        print("framechain: no CUDA device; rendering on the CPU", file=sys.stderr)
    return "cpu"


class TorchCompositor:
    """`compose(blend)` -> (H, W, 3) uint8 numpy array, computed with torch on `device`.

    frames  (T, H, W, 3) uint8 (array or memmap). On CUDA the whole store is copied to the GPU
            when it takes under half of the free memory, otherwise frames are uploaded per use.
    The returned array is this compositor's own buffer (or a store view for a single frame),
    valid until the next call.
    """

    name = "crossfade"

    def __init__(self, frames: np.ndarray, *, device: str = "auto"):
        import torch

        from precompute.frame_store import is_frame_store

        if not ((isinstance(frames, np.ndarray) or is_frame_store(frames)) and frames.ndim == 4
                and frames.shape[3] == 3 and frames.dtype == np.uint8):
            raise ConfigError(f"frames must be (T, H, W, 3) uint8, got {getattr(frames, 'shape', None)}")
        self.frames = frames
        self.device = resolve_device(device)
        self._torch = torch
        self._store = None
        if self.device == "cuda":
            free, _ = torch.cuda.mem_get_info()
            if frames.nbytes < free // 2 and not is_frame_store(frames):  # a proxy: per use
                self._store = torch.from_numpy(np.ascontiguousarray(frames)).to("cuda")  # (T, H, W, 3)
        pin = self.device == "cuda"
        self._host = torch.empty(frames.shape[1:], dtype=torch.uint8, pin_memory=pin)  # (H, W, 3)
        self._out = self._host.numpy()

    def _frames_on_device(self, indices: list[int]):
        torch = self._torch
        if self._store is not None:
            return self._store[torch.tensor(indices, device=self.device)]  # (n, H, W, 3)
        stack = np.stack([self.frames[i] for i in indices])  # (n, H, W, 3), a writable copy
        return torch.from_numpy(stack).to(self.device, non_blocking=True)

    def compose(self, blend: Blend) -> np.ndarray:
        if len(blend) == 1:  # nothing to compute: the frame is in host memory already
            return self.frames[blend[0][0]]
        torch = self._torch
        indices = [int(i) for i, _ in blend]
        weights = torch.tensor([float(w) for _, w in blend], dtype=torch.float32,
                               device=self.device).view(-1, 1, 1, 1)  # (n, 1, 1, 1)
        stack = self._frames_on_device(indices).to(torch.float32)  # (n, H, W, 3)
        mixed = (stack * weights).sum(dim=0).round_().clamp_(0, 255).to(torch.uint8)  # (H, W, 3)
        self._host.copy_(mixed)
        return self._out

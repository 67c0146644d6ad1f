"""`--transitions crossfade` (the default): jumps fade over K frames centred on them
(engine.transitions computes the weights); numba/OpenCV on the CPU, or torch on a GPU."""
from engine.renderers import TransitionRenderer, register_transition


def make_crossfade(frames, *, fade_frames: int, flows=None, device: str = "cpu"):
    if device == "cpu":
        from engine.render import Compositor

        return Compositor(frames)
    from engine.gpu import TorchCompositor, resolve_device

    # "auto" without CUDA: the OpenCV path is faster than torch on the CPU; resolve_device says so
    if resolve_device(device) == "cpu" and device == "auto":
        from engine.render import Compositor

        return Compositor(frames)
    return TorchCompositor(frames, device=device)


register_transition(TransitionRenderer(
    "crossfade", make_crossfade, gpu=True, help="fade over --fade K frames centred on each jump"))

"""`--transitions morph`: the frames of a fade are warped along the jump's optical flow (DIS,
computed once per jump: stored beside the analysis for play, per path for export)."""
from engine.renderers import TransitionRenderer, register_transition


def make_morph(frames, *, fade_frames: int, flows=None, device: str = "cpu"):
    from engine.render import MorphCompositor
    from precompute.errors import ConfigError

    if flows is None:
        raise ConfigError("transitions='morph' needs flows: precompute.flows.link_flows(...)")
    if device != "cpu":
        raise ConfigError("the morph runs on the CPU only; pass device='cpu' with transitions='morph'")
    return MorphCompositor(frames, flows, fade_frames=fade_frames)


register_transition(TransitionRenderer(
    "morph", make_morph, needs_flows=True, help="warp the fade along the jump's optical flow"))

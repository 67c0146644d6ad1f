"""`--transitions cut`: jumps are shown as they are, no fade (the crossfade compositor with a
fade of 0: every blend is one frame, drawn without work)."""
from engine.renderers import TransitionRenderer, register_transition
from engine.renderers.crossfade import make_crossfade

register_transition(TransitionRenderer(
    "cut", make_crossfade, fades=False, gpu=True, help="no fade: the jump is shown as it is"))

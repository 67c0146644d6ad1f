"""`--transitions generated`: the in-between frames of `framechain bridges` (a model trained on
the clip) replace the frames after a bridged jump; jumps without a bridge are morphed, and without
bridges at all the player and the exporter say so and morph."""
from engine.renderers import TransitionRenderer, register_transition
from engine.renderers.morph import make_morph

register_transition(TransitionRenderer(
    "generated", make_morph, needs_flows=True, uses_bridges=True,
    help="generated in-between frames (framechain bridges), else the morph"))

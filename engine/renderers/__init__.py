"""The transition renderers: one entry per `--transitions` name, one module per entry.

An entry (`TransitionRenderer`) says how the jumps of a path are drawn: a factory for the
compositor that turns each output frame's blend into a picture, and the fade policy (whether jumps
fade over `--fade K` frames or cut). `framechain play` and `framechain export` take their
`--transitions` choices from here, and the player and the exporter build their compositors here,
so adding a transition is one new module in this folder that calls `register_transition`, and
no edit elsewhere. Modules are found on first use (as `engine/cli.py` finds its commands); their
imports must stay light (the CLI lists the names while building `--help`): import the compositor's
heavy code inside the factory.

    from engine.renderers import TransitionRenderer, register_transition

    def _make(frames, *, fade_frames, flows, device):
        ...  # return an object with compose(blend) -> (H, W, 3) uint8
    register_transition(TransitionRenderer("mine", _make, help="what it looks like"))
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Callable

from precompute.errors import ConfigError

__all__ = ["TransitionRenderer", "register_transition", "transition", "transition_names"]


@dataclass(frozen=True)
class TransitionRenderer:
    """One way of drawing jumps.

    make(frames, *, fade_frames, flows, device) -> compositor: frames (T, H, W, 3) uint8; the
    compositor's `compose(blend)` returns the (H, W, 3) uint8 picture of one output frame (see
    engine.render.Compositor). flows: a precompute.flows.LinkFlows over the jumps that will be
    shown when `needs_flows`, else None. device: "cpu", "auto" or "cuda".
    """

    name: str  # the --transitions value
    make: Callable  # the compositor factory, above
    fades: bool = True  # fade policy: True: each jump fades over --fade K frames centred on it;
    #   False: jumps cut (fade 0) whatever --fade says
    needs_flows: bool = False  # give `make` the optical flow of each jump (computed once)
    uses_bridges: bool = False  # draw jumps with the generated bridges of `framechain bridges`
    #   where they exist (the compositor draws the jumps without one)
    chooses: bool = False  # with uses_bridges: draw each bridged jump as the method its stored
    #   measures pick (cut, crossfade, morph or its bridge; `--transitions auto`, issue 13)
    gpu: bool = False  # `make` honours device="auto"/"cuda"; otherwise it runs on the CPU only
    help: str = ""  # one line for --help and the README

    def fade_frames(self, requested: int) -> int:
        """The fade length the policy gives for `--fade requested`."""
        return int(requested) if self.fades else 0


_REGISTRY: dict[str, TransitionRenderer] = {}
_discovered = False


def register_transition(renderer: TransitionRenderer, *, replace: bool = False) -> TransitionRenderer:
    """Add a renderer under `renderer.name` (a second one of the same name needs replace=True)."""
    if not isinstance(renderer, TransitionRenderer):
        raise ConfigError(f"register_transition takes a TransitionRenderer, got {type(renderer).__name__}")
    if not renderer.name or not renderer.name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"a transition's name must be a word like 'crossfade', got {renderer.name!r}")
    if renderer.name in _REGISTRY and not replace and _REGISTRY[renderer.name] is not renderer:
        raise ConfigError(f"a transition named {renderer.name!r} is registered already; "
                          "pass replace=True to replace it")
    _REGISTRY[renderer.name] = renderer
    return renderer


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def transition_names() -> tuple[str, ...]:
    """Every registered name, the built-in ones first (crossfade, the default, leads)."""
    _discover()
    return tuple(sorted(_REGISTRY, key=lambda name: (name != "crossfade", name)))


def transition(name: str) -> TransitionRenderer:
    """The renderer registered as `name`; a ConfigError naming the choices otherwise."""
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ConfigError(f"--transitions must be one of {', '.join(transition_names())}, "
                          f"got {name!r}") from None

"""Transition renderers are a registry (engine.renderers): one registered in this file, with no
edit anywhere else, is offered by `framechain play` and `framechain export` and draws their frames."""
import numpy as np
import pytest

import engine.renderers as renderers
from engine.cli import main
from engine.renderers import TransitionRenderer, register_transition, transition_names
from precompute.video_io import decode_clip


class _Inverted:
    """The crossfade's picture, inverted: easy to recognise in what play and export produce."""

    calls = 0

    def __init__(self, frames):
        from engine.render import Compositor

        self._crossfade = Compositor(frames)

    def compose(self, blend):
        _Inverted.calls += 1
        return 255 - self._crossfade.compose(blend)  # (H, W, 3) uint8


@pytest.fixture
def inverted(monkeypatch):
    transition_names()  # the built-in renderers are found first, then the registry is copied
    monkeypatch.setattr(renderers, "_REGISTRY", dict(renderers._REGISTRY))  # undone after the test
    _Inverted.calls = 0
    return register_transition(TransitionRenderer(
        "inverted", lambda frames, **_: _Inverted(frames), help="a test's own renderer"))


def test_a_registered_transition_is_accepted_by_play_and_export(inverted, known_loop_analysis,
                                                                tmp_path):
    assert transition_names()[0] == "crossfade" and "inverted" in transition_names()
    path = str(known_loop_analysis.path)
    assert main(["play", path, "--headless", "--frames", "12", "--transitions", "inverted"]) == 0
    assert _Inverted.calls == 12  # every shown frame went through it
    plain, inverted_out = tmp_path / "plain", tmp_path / "inverted"
    for out, name in ((plain, "crossfade"), (inverted_out, "inverted")):
        assert main(["export", path, "-o", str(out), "--seconds", "1.3",
                     "--transitions", name]) == 0
    expected, _ = decode_clip(plain)
    written, _ = decode_clip(inverted_out)  # numbered PNGs: lossless
    assert written.shape == expected.shape == (40, 24, 40, 3)
    np.testing.assert_array_equal(written, 255 - expected)


def test_an_unknown_transition_is_refused_with_the_choices(known_loop_analysis, capsys):
    with pytest.raises(SystemExit):
        main(["export", str(known_loop_analysis.path), "-o", "x.mp4", "--seconds", "1",
              "--transitions", "inverted"])
    assert "crossfade" in capsys.readouterr().err
    from precompute.errors import ConfigError

    with pytest.raises(ConfigError, match="crossfade, auto, cut, generated, morph"):
        renderers.transition("inverted")

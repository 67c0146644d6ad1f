"""Fixtures of the export tests: the synthetic clips of export_synthetic.py, analysed once."""
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pytest

from export_synthetic import analyse, known_loop_frames, periodic_frames


@pytest.fixture(scope="session")
def periodic_analysis(tmp_path_factory):
    return analyse(periodic_frames(), tmp_path_factory.mktemp("periodic"))


@pytest.fixture(scope="session")
def known_loop_analysis(tmp_path_factory):
    return analyse(known_loop_frames(), tmp_path_factory.mktemp("known"))

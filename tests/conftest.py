"""Test set-up: headless SDL, a private analysis cache, and synthetic clips built in code."""
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from pathlib import Path

import pytest

SHARED_CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "clips"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own analysis cache: no test reads another's results."""
    monkeypatch.setenv("FRAMECHAIN_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def shared_clips():
    if not SHARED_CLIPS.is_dir():
        pytest.skip(f"../shared/clips is missing ({SHARED_CLIPS}): real-footage tests need it")
    return SHARED_CLIPS

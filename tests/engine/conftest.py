"""Fixtures of the engine tests (the textures themselves are in tests/engine/textures.py)."""
import pytest

from tests.engine.textures import chain_texture


@pytest.fixture
def chain():
    return chain_texture()

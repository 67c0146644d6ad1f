"""framechain's real-time engine: shared clip data (VideoTexture, SpriteTexture) apart from
per-instance playback state, compositing, the pygame window, export. Imported lazily so that the
command line starts without pygame or torch."""
from importlib import import_module

__all__ = ["VideoTexture", "Playback", "PlaybackConfig", "blend_schedule", "Window", "WindowConfig",
           "play", "PlayerConfig", "export_loop", "export_random", "SpriteTexture", "SpriteState",
           "composite", "sprite_for", "AudioConfig", "path_audio"]

_WHERE = {"VideoTexture": "engine.texture", "Playback": "engine.playback",
          "PlaybackConfig": "engine.playback", "blend_schedule": "engine.transitions",
          "Window": "engine.window", "WindowConfig": "engine.window", "play": "engine.player",
          "PlayerConfig": "engine.player", "export_loop": "engine.export",
          "export_random": "engine.export", "SpriteTexture": "engine.sprite",
          "SpriteState": "engine.sprite", "composite": "engine.sprite", "sprite_for": "engine.sprite",
          "AudioConfig": "engine.audio", "path_audio": "engine.audio"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'engine' has no attribute {name!r}")

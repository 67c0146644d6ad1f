"""Per-instance playback state over a shared `VideoTexture`: random play with live controls.

How play chooses frames (the *path*): the play position advances by `dt * fps * speed` source
frames per `update(dt)`. Each time it crosses into a new path position, the frame there has been
chosen by sampling the links of the frame before it with the current probabilities (a jump is
any choice other than i -> i+1). Frames are chosen `fade_reach(K) + 1` positions ahead of the
one shown (3 positions for the default K = 4, 0.1 s at 30 fps) so that a crossfade can begin
before its jump; a control change applies to every choice made after it, so it is seen within
that look-ahead. Faster than 1x, several frames are chosen per output frame and the one nearest
the play position is shown (chain decisions happen at the clip's rate times speed, so fast play
jumps as often per second of clip as normal play). Slower than 1x, the blend shown is the
linear mix of the two path positions around the play position, so slow motion glides rather
than stutters.

Time is passed in: `update(dt_s)` never reads a clock, and clamps dt to `max_step_s` so that a
stall (a window drag, a breakpoint) does not make play leap ahead.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from engine.texture import VideoTexture
from engine.transitions import Blend, blend_at, fade_reach, merge_blends
from precompute.errors import ConfigError

__all__ = ["PlaybackConfig", "Playback"]


@dataclass(frozen=True, kw_only=True)
class PlaybackConfig:
    """Settings of one playback instance (all can be changed live through `Playback` methods)."""

    speed: float = 1.0  # play rate as a multiple of the clip's fps; < 1 blends neighbours (slow motion)
    variety: float = 1.0  # sigma multiplier: > 1 takes more (and worse) jumps, < 1 only the best
    fade_frames: int = 4  # crossfade length K centred on each jump; 0 or 1 cuts
    frame_range: tuple[int, int] | None = None  # (start, stop) frames to stay near (Eq. 10); None: all
    range_weight: float = 8.0  # exponent penalty per frame outside the range: higher keeps play in harder
    start_frame: int | None = None  # where play (and restart) begins; None: the texture's first
    #   playable frame (frames before it are a lead-in that no jump returns to)
    seed: int = 0  # seed of this instance's random generator: the same seed replays the same frames
    max_step_s: float = 0.25  # update(dt) clamps dt to this, so a stall does not leap ahead


class Playback:
    """Playing state: play position, time, path of chosen frames, own random generator.

    Many instances may share one texture. Not thread-safe (one owner drives it).
    """

    def __init__(self, texture: VideoTexture, config: PlaybackConfig = PlaybackConfig(), *, cuts=None):
        """`cuts`: None, or cuts(i, j) -> bool, the jumps shown as cuts whatever the fade
        (engine.transitions.blend_at; `--transitions auto`)."""
        if not isinstance(texture, VideoTexture):
            raise ConfigError(f"texture must be an engine.VideoTexture, got {type(texture).__name__}")
        self.texture = texture
        self._config = config
        self._cuts = cuts
        self._check(config)
        self._probabilities_dirty = True
        self._cumulative = np.empty(0)
        self.paused = False
        self.restart()

    # ------------------------------------------------------------------ checks and settings
    def _check(self, config: PlaybackConfig) -> None:
        n_frames = self.texture.n_frames
        if not (math.isfinite(config.speed) and 0 < config.speed <= 64):
            raise ConfigError(f"speed must be in (0, 64], got {config.speed}")
        if not (math.isfinite(config.variety) and config.variety > 0):
            raise ConfigError(f"variety must be a positive number, got {config.variety}")
        if int(config.fade_frames) != config.fade_frames or not 0 <= config.fade_frames <= 64:
            raise ConfigError(f"fade_frames must be an integer in 0..64, got {config.fade_frames}")
        if config.start_frame is not None and not 0 <= config.start_frame < n_frames:
            raise ConfigError(f"start_frame must be in 0..{n_frames - 1}, got {config.start_frame}")
        if config.frame_range is not None:
            start, stop = config.frame_range
            if not 0 <= start < stop <= n_frames:
                raise ConfigError(
                    f"frame_range must satisfy 0 <= start < stop <= {n_frames}, got {config.frame_range}")
        if not (math.isfinite(config.range_weight) and config.range_weight >= 0):
            raise ConfigError(f"range_weight must be >= 0, got {config.range_weight}")
        if not (math.isfinite(config.max_step_s) and config.max_step_s > 0):
            raise ConfigError(f"max_step_s must be > 0, got {config.max_step_s}")

    @property
    def config(self) -> PlaybackConfig:
        return self._config

    def _set(self, **changes) -> None:
        config = replace(self._config, **changes)
        self._check(config)
        if any(k in changes for k in ("variety", "frame_range", "range_weight")):
            self._probabilities_dirty = True
        self._config = config

    def set_speed(self, speed: float) -> None:
        self._set(speed=float(speed))

    def set_variety(self, variety: float) -> None:
        """Re-apply sigma = variety x the analysis sigma to the stored future costs, at once."""
        self._set(variety=float(variety))

    def set_frame_range(self, frame_range: tuple[int, int] | None, *, range_weight: float | None = None) -> None:
        """Stay near frames start..stop-1 (None: the whole clip)."""
        changes = {"frame_range": None if frame_range is None else (int(frame_range[0]), int(frame_range[1]))}
        if range_weight is not None:
            changes["range_weight"] = float(range_weight)
        self._set(**changes)

    def set_fade_frames(self, fade_frames: int) -> None:
        self._set(fade_frames=int(fade_frames))
        self._extend_path()

    def pause(self, paused: bool | None = None) -> None:
        """Pause (True), resume (False) or toggle (None)."""
        self.paused = (not self.paused) if paused is None else bool(paused)

    def restart(self, seed: int | None = None) -> None:
        """Back to the start frame with a fresh generator (the config's seed, or `seed`)."""
        if seed is not None:
            self._set(seed=int(seed))
        self._rng = np.random.Generator(np.random.PCG64(self._config.seed))
        self._plan: list[int] = []  # frames foreseen after the path (see upcoming)
        self._plan_rng = None
        start = self._config.start_frame
        self._path: list[int] = [int(self.texture.first_playable if start is None else start)]
        self._path_base = 0  # path position of self._path[0]
        self.position = 0.0  # play position in path positions
        self.time_s = 0.0
        self.jumps = 0  # jumps chosen so far
        self._extend_path()

    # ------------------------------------------------------------------ the chain
    def upcoming(self, count: int) -> list[int]:
        """The source frames play will show next, `count` of them from the play position on:
        the path already chosen, then the chain sampled ahead of time with a copy of this
        instance's generator, so that they are the frames the path will choose (unless a
        setting changes first). Nothing of the play state changes. For read-ahead of a store
        that decodes (precompute.frame_store.ProxyFrames.prefetch)."""
        count = int(count)
        here = max(self._path_base, int(math.floor(self.position)))
        chosen = self._path[here - self._path_base:][:count]
        if len(chosen) >= count:
            return chosen
        if self._probabilities_dirty:
            self._refresh_probabilities()
        if not self._plan:  # sample on from the path's end with a copy of the generator
            self._plan_rng = np.random.Generator(np.random.PCG64())
            self._plan_rng.bit_generator.state = self._rng.bit_generator.state
        while len(chosen) + len(self._plan) < count:
            last = self._plan[-1] if self._plan else self._path[-1]
            self._plan.append(self._choose_next(last, self._plan_rng))
        return chosen + self._plan[: count - len(chosen)]

    def upcoming_sources(self, count: int) -> list[int]:
        """Every source frame the next `count` path positions will show: the path's frames
        (`upcoming`) and, around each jump a -> b, the frames its fade blends in (a+1.. of the
        stream left, ..b-1 of the stream joined), in the order they are needed."""
        path = self.upcoming(count)
        reach = fade_reach(self._config.fade_frames)
        n_frames = self.texture.n_frames
        if self.texture.cyclic:  # streams run on over the seam (engine.transitions.blend_at)
            def source(frame):
                return frame % n_frames
        else:
            def source(frame):
                return min(n_frames - 1, max(0, frame))
        out = []
        for k, frame in enumerate(path):
            if reach and k and frame != source(path[k - 1] + 1):
                before = path[k - 1]
                out.extend(source(f) for f in range(frame - reach - 1, frame))
                out.extend(source(f) for f in range(before + 1, before + reach + 2))
            out.append(frame)
        return out

    def _refresh_probabilities(self) -> None:
        self._plan = []  # drawn with the old probabilities
        texture = self.texture
        config = self._config
        probabilities = texture.link_probabilities(
            variety=config.variety, frame_range=config.frame_range, range_weight=config.range_weight)
        # per-row cumulative sums: global cumsum minus the sum before each row
        cumulative = np.cumsum(probabilities)  # (nnz,)
        offsets = texture.link_offsets
        before = np.concatenate(([0.0], cumulative[offsets[1:-1] - 1]))  # (T,)
        cumulative -= np.repeat(before, np.diff(offsets))
        self._cumulative = cumulative
        self._probabilities_dirty = False

    def _choose_next(self, frame: int, rng=None) -> int:
        """Sample the next frame from the links of `frame` (with `rng`, default the own one)."""
        rng = self._rng if rng is None else rng
        offsets = self.texture.link_offsets
        lo = int(offsets[frame])
        hi = int(offsets[frame + 1])
        if hi - lo == 1:
            rng.random()  # keep the generator's stream independent of row sizes
            return int(self.texture.link_targets[lo])
        row = self._cumulative[lo:hi]
        u = rng.random() * row[-1]
        k = min(hi - 1, lo + int(np.searchsorted(row, u, side="right")))
        return int(self.texture.link_targets[k])

    def _extend_path(self) -> None:
        """Choose frames up to the look-ahead, and drop history nothing can need any more."""
        reach = fade_reach(self._config.fade_frames)
        needed = int(math.floor(self.position)) + reach + 2  # last path position needed, exclusive
        if self._path_base + len(self._path) < needed and self._probabilities_dirty:
            self._refresh_probabilities()
        while self._path_base + len(self._path) < needed:
            current = self._path[-1]
            following = self._choose_next(current)
            if following != current + 1:
                self.jumps += 1
            self._path.append(following)
            if self._plan and self._plan[0] == following:  # as foreseen: the plan holds
                self._plan.pop(0)
            else:
                self._plan.clear()
        keep_from = int(math.floor(self.position)) - reach - 1
        if keep_from - self._path_base > 256:
            drop = keep_from - self._path_base
            del self._path[:drop]
            self._path_base += drop

    def update(self, dt_s: float) -> None:
        """Advance play time by `dt_s` seconds (clamped to 0..max_step_s); nothing while paused."""
        if self.paused:
            return
        dt_s = min(max(float(dt_s), 0.0), self._config.max_step_s)
        self.time_s += dt_s
        self.position += dt_s * self.texture.fps * self._config.speed
        self._extend_path()

    def step(self, frames: int = 1) -> None:
        """Move exactly `frames` path positions on (works while paused: single stepping)."""
        self.position = math.floor(self.position + 1e-9) + int(frames)
        self.time_s += int(frames) / (self.texture.fps * self._config.speed)
        self._extend_path()

    # ------------------------------------------------------------------ what to show
    def _blend_at_position(self, position: int) -> Blend:
        reach = fade_reach(self._config.fade_frames)
        lo = max(self._path_base, position - reach - 1)
        window = np.asarray(self._path[lo - self._path_base: position + reach + 2 - self._path_base])
        return blend_at(window, position - lo, fade_frames=self._config.fade_frames,
                        n_frames=self.texture.n_frames, cyclic_clip=self.texture.cyclic, cuts=self._cuts)

    def current_blend(self) -> Blend:
        """The source frames and weights to show now: [(source_index, weight), ...] summing to 1."""
        if self._config.speed >= 1.0:
            return self._blend_at_position(int(math.floor(self.position + 0.5)))
        base = int(math.floor(self.position))
        fraction = self.position - base
        if fraction < 1e-6:
            return self._blend_at_position(base)
        return merge_blends(self._blend_at_position(base), self._blend_at_position(base + 1), fraction)

    @property
    def current_frame(self) -> int:
        """The source frame on the path at the play position (rounded)."""
        position = int(math.floor(self.position + 0.5))
        return self._path[position - self._path_base]

    def path_frame(self, position: int) -> int:
        """The frame at path position `position` (>= the oldest kept), choosing the path on to it
        if it lies beyond the look-ahead (the sound reads a few frames ahead: issue 18)."""
        position = int(position)
        if position < self._path_base:
            raise IndexError(f"path position {position} was dropped (oldest kept {self._path_base})")
        if self._path_base + len(self._path) <= position and self._probabilities_dirty:
            self._refresh_probabilities()
        while self._path_base + len(self._path) <= position:
            current = self._path[-1]
            following = self._choose_next(current)
            if following != current + 1:
                self.jumps += 1
            self._path.append(following)
        return self._path[position - self._path_base]

    def path_window(self) -> tuple[int, list[int]]:
        """(path position of the first kept frame, kept path frames): for overlays and tests."""
        return self._path_base, list(self._path)

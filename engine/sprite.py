"""Video sprites at run time: steer instances of a shared sprite texture and composite them.

- `SpriteTexture`: the immutable shared data (RGBA frames, velocities, links, control tables),
  plus a memo of frames resized for the scales in use. Many instances share one texture.
- `SpriteState`: one instance's own state: position (background px), frame, scale, speed
  preference, its own random generator, and the time not yet played.
- `Sprite`: a texture and a state. `step(target)` plays one sprite frame: it scores the links of
  the current frame by `B + E(theta, s) + alpha * V(theta, s)` (precompute/control.py), with V
  interpolated between the two nearest direction tables and the two nearest speed tables, picks
  the best (softly, with the instance's generator, when `temperature` > 0), then moves by that
  frame's velocity times the scale. `update(dt_s, target)` plays the frames that fall due.
- `composite(background, sprites)`: alpha-composites the sprites over a background frame
  (an image, or the current frame of a playing video texture) at their scales.

Wanted direction: toward the target. Wanted speed: the distance over `lookahead_frames`,
clamped to the clip's speed tables and scaled by the instance's speed preference, so that the
sprite cruises when far and slows down to circle within reach of the target.
Angles are in image axes (atan2(vy, vx), y down). Positions are background pixels.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from precompute.control import SpriteControl
from precompute.errors import ConfigError
from precompute.sprites import SpriteClip

__all__ = ["SteeringConfig", "SpriteTexture", "SpriteState", "Sprite", "composite", "steer_course",
           "default_fish", "sprite_for"]

MODES = ("future", "greedy", "random")


@dataclass(frozen=True)
class SteeringConfig:
    mode: str = "future"          # "future": control + future costs; "greedy": control cost of the
                                  # next frame only; "random": plain random play (no control)
    temperature: float = 0.0      # softmin temperature in natural steps: 0 = always the best link,
                                  # higher = more variety (each instance draws from its own generator)
    lookahead_frames: float = 10.0  # wanted speed = distance to target / this (px per frame)
    random_variety: float = 0.1   # random mode: sigma as a share of the mean jump cost (0.05-0.2)
    max_steps_per_update: int = 4  # update(dt) plays at most this many frames (clamps a long stall)
    top_speed_factor: float = 1.3  # far from the target, ask for this much more than the fastest
                                   # speed table (the clip's 90th percentile): its fastest frames

    def __post_init__(self):
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.temperature < 0 or self.lookahead_frames <= 0 or self.random_variety <= 0:
            raise ConfigError("temperature must be >= 0; lookahead_frames and random_variety > 0")


class SpriteTexture:
    """Shared, read-only sprite data. Arrays are made read-only; instances never write to them."""

    def __init__(self, sprite: SpriteClip, control: SpriteControl):
        if control.future_values.shape[2] != sprite.n_frames:
            raise ConfigError(f"control tables are for {control.future_values.shape[2]} frames, the "
                              f"sprite has {sprite.n_frames}; re-run the control analysis")
        self.sprite = sprite
        self.control = control
        self.fps = float(sprite.fps)
        self.n_frames = sprite.n_frames
        self.size = sprite.size
        self.velocities = np.array(sprite.velocities, np.float32)  # (N, 2)
        self.link_offsets = np.array(control.link_offsets, np.int64)  # (N+1,) CSR rows
        self.link_targets = np.array(control.link_targets, np.int32)  # (nnz,)
        self.link_costs = np.array(control.link_costs, np.float32)  # (nnz,) B, RMS units
        self._link_velocity = self.velocities[self.link_targets]  # (nnz, 2) velocity of each link's frame
        for a in (self.velocities, self.link_offsets, self.link_targets, self.link_costs, self._link_velocity):
            a.setflags(write=False)
        # a derived memo, not state: frames resized for the scales in use (see scaled_frame)
        self._scaled: dict = {}

    @property
    def speeds(self) -> np.ndarray:
        return self.control.speeds

    def links(self, frame: int) -> slice:
        return slice(int(self.link_offsets[frame]), int(self.link_offsets[frame + 1]))

    def _interpolated_values(self, targets: np.ndarray, direction: float, speed: float) -> np.ndarray:
        """V at `targets` (k,) for a direction (rad) and speed (px/frame of the clip): bilinear
        between the two nearest direction tables and (in log speed) the two nearest speed tables."""
        values = self.control.future_values  # (D, S, N)
        n_dir = values.shape[0]
        position = (direction % (2 * np.pi)) / (2 * np.pi / n_dir)
        d0 = int(np.floor(position)) % n_dir
        d1 = (d0 + 1) % n_dir
        td = position - np.floor(position)
        speeds = self.control.speeds
        if len(speeds) == 1 or speed <= speeds[0]:
            s0 = s1 = 0
            ts = 0.0
        elif speed >= speeds[-1]:
            s0 = s1 = len(speeds) - 1
            ts = 0.0
        else:
            s1 = int(np.searchsorted(speeds, speed))
            s0 = s1 - 1
            ts = float(np.log(speed / speeds[s0]) / np.log(speeds[s1] / speeds[s0]))
        return ((1 - td) * ((1 - ts) * values[d0, s0, targets] + ts * values[d0, s1, targets])
                + td * ((1 - ts) * values[d1, s0, targets] + ts * values[d1, s1, targets]))

    def link_scores(self, frame: int, direction: float, speed: float, mode: str = "future") -> tuple:
        """(targets (k,) int32, scores (k,) float32) of the links out of `frame`; lower is better."""
        sl = self.links(frame)
        targets = self.link_targets[sl]
        base = self.link_costs[sl]
        if mode == "random":
            return targets, base
        scores = base + self.control.control_cost(self._link_velocity[sl], direction, speed)
        if mode == "future":
            scores = scores + self.control.config.alpha * self._interpolated_values(targets, direction, speed)
        return targets, scores.astype(np.float32)

    def choose(self, frame: int, direction: float, speed: float, rng: np.random.Generator,
               config: SteeringConfig) -> int:
        """The next sprite frame after `frame` for the wanted direction and speed (clip px/frame)."""
        targets, scores = self.link_scores(frame, direction, speed, config.mode)
        if config.mode == "random":
            jumps = self.control.stats.get("mean_jump_cost_over_unit", 1.0) * self.control.unit
            sigma = max(config.random_variety * jumps, 1e-6)
        elif config.temperature > 0:
            sigma = config.temperature * self.control.unit
        else:
            return int(targets[int(np.argmin(scores))])
        weights = np.exp(-(scores - scores.min()) / sigma)
        return int(targets[rng.choice(len(targets), p=weights / weights.sum())])

    def scaled_frame(self, frame: int, scale: float):
        """The frame at `scale`, cropped to its alpha's bounding box, memoised:
        (side, x0, y0, premultiplied RGB (h, w, 3) uint8, inverse alpha (h, w, 3) uint8), where
        side is the scaled frame's side and (x0, y0) the crop's corner inside it."""
        key = (round(float(scale), 3), int(frame))
        hit = self._scaled.get(key)
        if hit is not None:
            return hit
        f = self.sprite.frame(frame).astype(np.float32)
        f[..., :3] *= f[..., 3:] / 255  # premultiplied, so resizing does not bleed hidden colour
        side = max(1, int(round(self.size * key[0])))
        if side != self.size:
            f = cv2.resize(f, (side, side), interpolation=cv2.INTER_AREA if side < self.size else cv2.INTER_LINEAR)
        f = np.clip(np.round(f), 0, 255).astype(np.uint8)  # (side, side, 4)
        ys, xs = np.nonzero(f[..., 3])
        if ys.size == 0:
            ys, xs = np.zeros(1, int), np.zeros(1, int)
        y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
        crop = f[y0:y1, x0:x1]
        inverse = np.repeat(255 - crop[..., 3:], 3, axis=2)  # (h, w, 3): cv2 multiplies per channel
        hit = (side, int(x0), int(y0), np.ascontiguousarray(crop[..., :3]), np.ascontiguousarray(inverse))
        if len(self._scaled) > 20000:  # bound the memo (many scales in an interactive session)
            self._scaled.clear()
        self._scaled[key] = hit
        return hit


@dataclass
class SpriteState:
    """One instance's own state; never shared between instances."""

    x: float                       # position of the alpha centroid, background px
    y: float
    frame: int = 0                 # sprite frame shown
    scale: float = 1.0             # display scale: sprite px -> background px (velocities too)
    speed_factor: float = 1.0      # the user's speed preference (the slider): scales the wanted speed
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    pending_s: float = 0.0         # time not yet played
    velocity: tuple = (0.0, 0.0)   # the last step, background px/frame


class Sprite:
    """A sprite instance: a shared texture + its own state."""

    def __init__(self, texture: SpriteTexture, state: SpriteState, config: SteeringConfig = SteeringConfig()):
        if not 0 <= state.frame < texture.n_frames:
            raise ConfigError(f"frame must be in 0..{texture.n_frames - 1}, got {state.frame}")
        if not state.scale > 0:
            raise ConfigError(f"scale must be positive, got {state.scale}")
        self.texture = texture
        self.state = state
        self.config = config

    def wanted(self, target) -> tuple[float, float]:
        """(direction rad, speed in clip px/frame) toward `target` (x, y) in background px."""
        s = self.state
        dx, dy = target[0] - s.x, target[1] - s.y
        distance = float(np.hypot(dx, dy))
        speeds = self.texture.speeds
        wanted_bg = distance / self.config.lookahead_frames
        top = speeds[-1] * self.config.top_speed_factor
        speed = float(np.clip(wanted_bg / s.scale, speeds[0], top)) * s.speed_factor
        return float(np.arctan2(dy, dx)), speed

    def step(self, target) -> int:
        """Play one sprite frame toward `target` (x, y) background px; returns the frame shown."""
        s = self.state
        direction, speed = self.wanted(target)
        s.frame = self.texture.choose(s.frame, direction, speed, s.rng, self.config)
        vx, vy = (float(v) * s.scale for v in self.texture.velocities[s.frame])
        s.x += vx
        s.y += vy
        s.velocity = (vx, vy)
        return s.frame

    def update(self, dt_s: float, target) -> int:
        """Advance by dt_s seconds (frame-locked at the texture's fps); returns frames played."""
        s = self.state
        s.pending_s += max(0.0, float(dt_s))
        period = 1.0 / self.texture.fps
        played = 0
        while s.pending_s >= period and played < self.config.max_steps_per_update:
            self.step(target)
            s.pending_s -= period
            played += 1
        s.pending_s = min(s.pending_s, period)  # the clock clamps a long stall
        return played


def composite(background: np.ndarray, sprites, *, out: np.ndarray | None = None) -> np.ndarray:
    """Draw `sprites` (in order) over `background` (H, W, 3) uint8: returns (H, W, 3) uint8.

    Each sprite's frame is centred on its position at its scale, clipped at the edges.
    `out` (H, W, 3) uint8 may be given to avoid an allocation (it may be `background` itself)."""
    if background.ndim != 3 or background.shape[2] != 3 or background.dtype != np.uint8:
        raise ConfigError(f"background must be (H, W, 3) uint8, got {background.shape} {background.dtype}")
    if out is None:
        out = background.copy()
    elif out is not background:
        np.copyto(out, background)
    height, width = out.shape[:2]
    for sprite in sprites:
        s = sprite.state
        side, crop_x, crop_y, premultiplied, inverse = sprite.texture.scaled_frame(s.frame, s.scale)
        h, w = premultiplied.shape[:2]
        x0 = int(round(s.x - (side - 1) / 2)) + crop_x  # the crop's corner on the background
        y0 = int(round(s.y - (side - 1) / 2)) + crop_y
        cx0, cy0 = max(0, -x0), max(0, -y0)
        cx1, cy1 = min(w, width - x0), min(h, height - y0)
        if cx1 <= cx0 or cy1 <= cy0:
            continue  # entirely off screen
        roi = out[y0 + cy0:y0 + cy1, x0 + cx0:x0 + cx1]  # (h, w, 3) view
        # out = premultiplied + background * (255 - alpha) / 255, rounded, saturating (cv2 SIMD)
        shaded = cv2.multiply(roi, inverse[cy0:cy1, cx0:cx1], scale=1 / 255)
        roi[:] = cv2.add(shaded, premultiplied[cy0:cy1, cx0:cx1])
    return out


def _target_at(times: np.ndarray, points: np.ndarray, time_s: float) -> tuple[float, float]:
    k = int(np.searchsorted(times, time_s, side="right")) - 1
    return tuple(points[max(k, 0)])


def steer_course(sprite: Sprite, targets, *, frames: int, start_frame: int = 0) -> list[dict]:
    """Steer through a scripted course: `targets` a list of {"t", "x", "y"} (seconds, background
    px). The target at output frame k is the latest one with t <= k / fps (the first before it).
    Plays output frames start_frame .. start_frame + frames - 1 and returns their log entries
    {"frame", "x", "y", "vx", "vy", "target_x", "target_y"} (position after the step, velocity of
    the step, both in background px)."""
    order = sorted(targets, key=lambda item: float(item["t"]))
    if not order:
        raise ConfigError("targets is empty: give at least one {\"t\", \"x\", \"y\"}")
    times = np.array([float(item["t"]) for item in order])
    points = np.array([(float(item["x"]), float(item["y"])) for item in order])
    fps = sprite.texture.fps
    log = []
    for k in range(start_frame, start_frame + frames):  # one entry per output frame
        target = _target_at(times, points, k / fps)
        frame = sprite.step(target)
        s = sprite.state
        log.append({"frame": int(frame), "x": round(s.x, 3), "y": round(s.y, 3),
                    "vx": round(s.velocity[0], 4), "vy": round(s.velocity[1], 4),
                    "target_x": float(target[0]), "target_y": float(target[1])})
    return log


# --- loading: the embedded fish, a saved sprite, or a clip extracted on the fly (cached) ---------

def _settings_key(*configs) -> str:
    import hashlib
    import json
    from dataclasses import asdict

    text = json.dumps([asdict(c) for c in configs], sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def default_fish(*, fish_config=None, control_config=None, progress=print):
    """The embedded procedural fish, analysed: (SpriteClip, SpriteControl), cached on disk.

    Generating and analysing takes ~20-40 s once; later calls load the cache
    (precompute.analysis.cache_dir() / sprites / fish-KEY)."""
    from assets.fish import FishConfig, fish_sprite_clip
    from precompute.analysis import cache_dir
    from precompute.control import ControlConfig, analyze_control, load_sprite, save_sprite
    from precompute.errors import AnalysisError

    fish_config = fish_config or FishConfig()
    control_config = control_config or ControlConfig()
    folder = cache_dir() / "sprites" / f"fish-{_settings_key(fish_config, control_config)}"
    if folder.exists():
        try:
            sprite, control, _ = load_sprite(folder)
            if control is not None:
                return sprite, control
        except AnalysisError:
            pass  # damaged cache: make it again
    if progress:
        progress("framechain: generating the embedded fish sprite and its control tables (once)...")
    rgba, velocities, fps = fish_sprite_clip(fish_config, progress=bool(progress))
    sprite = SpriteClip.from_arrays(rgba, velocities, fps=fps, info={"source": "assets.fish"})
    control = analyze_control(sprite, control_config)
    save_sprite(folder, sprite, control, source={"path": "assets.fish", "fish": _settings_key(fish_config)})
    return sprite, control


def sprite_for(path=None, *, extraction=None, control_config=None, fps=None, progress=print):
    """(SpriteClip, SpriteControl) for None (the embedded fish), a saved sprite folder, or a clip
    (extracted and analysed, then cached by the clip's hash and the settings)."""
    from precompute.analysis import cache_dir
    from precompute.bundle import source_identity
    from precompute.control import ControlConfig, analyze_control, is_sprite, load_sprite, save_sprite
    from precompute.errors import AnalysisError
    from precompute.sprites import ExtractionConfig, extract_sprite
    from precompute.video_io import open_clip

    control_config = control_config or ControlConfig()
    if path is None:
        return default_fish(control_config=control_config, progress=progress)
    if is_sprite(path):
        sprite, control, _ = load_sprite(path)
        if control is None:
            control = analyze_control(sprite, control_config)
        return sprite, control
    extraction = extraction or ExtractionConfig()
    source = source_identity(path)
    folder = cache_dir() / "sprites" / f"{source['sha256'][:16]}-{_settings_key(extraction, control_config)}-{fps or 0:g}"
    if is_sprite(folder):
        try:
            sprite, control, _ = load_sprite(folder)
            if control is not None:
                return sprite, control
        except AnalysisError:
            pass  # an older format or a damaged cache: make it again
    if progress:
        progress(f"framechain: extracting a sprite from {path} (cached for next time)...")
    with open_clip(path, fps=fps) as reader:
        clip_fps = reader.info.fps

    def frames():  # streamed, one pass per call: the clip is never held whole
        with open_clip(path, fps=fps) as reader:
            yield from reader

    sprite = extract_sprite(frames, fps=clip_fps, config=extraction)
    control = analyze_control(sprite, control_config)
    save_sprite(folder, sprite, control, source=source, extraction=extraction)
    return sprite, control

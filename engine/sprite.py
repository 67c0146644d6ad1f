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
  (an image, or the current frame of a playing video texture) at their scales, mirrored where a
  walker faces the other way.
- `steer_group(sprites, targets, frames=...)`: a school stepped together (one shared texture, or
  one texture per subject of a sprite set, `sprite_set_for`: neighbours are positions, so keeping
  apart works across textures); each sees the others as neighbours and keeps apart (Schödl & Essa 2002's anti-collision: links
  whose frames move toward a neighbour within reach cost more, `avoid_weight`, and the wanted
  direction leans away from it).

Subjects that move in place (a walk cycle on a treadmill, precompute/gait.py): the texture's
`gait` says so; such a sprite is not steered by its footage's (near zero) velocities but walks:
it moves by a ground speed (the treadmill's, times the scale, or `SteeringConfig.ground_speed_px_s`)
along a heading that turns toward the target at most `walk_turn_deg` per frame, shows the footage
mirrored when it heads the other way, and plays frames by the gait's phase: the footage advances
ground speed / the gait's own ground speed frames per frame, so the stride matches the travel,
and at a segment's end it continues at the frame with the same phase that the gait analysis
chose (never back into a cycle shorter than `GaitConfig.min_cycle_frames`).

Speed (the slider, `SpriteState.speed_factor`) scales the playback rate: frames fall due
speed_factor times as often, and each moves by its own velocity, so travel and pose stay together.

Wanted direction: toward the target. Wanted speed: the distance over `lookahead_frames`,
clamped to the clip's speed tables, so that the sprite cruises when far and slows down to circle
within reach of the target (the speed factor acts on the playback rate instead, see above).
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
           "steer_group", "default_scale", "subject_extent", "PointerTarget", "default_fish", "sprite_for",
           "sprite_set_for"]

MODES = ("future", "greedy", "random")
LEAN = 5.0  # how hard the wanted direction leans away from a touching neighbour (vs 1 toward the target)


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
    avoid_weight: float = 15.0     # anti-collision: cost, in natural steps, of a frame heading straight
                                   # at a neighbour touching this sprite (scaled down to 0 at the edge
                                   # of avoid_reach); 0 = sprites pile up on a shared target
    avoid_reach: float = 1.6       # neighbours nearer than this many subject lengths (at the scale)
                                   # are avoided; raise it for a looser school
    ground_speed_px_s: float | None = None  # walkers in place: background px per second; None =
                                   # the gait's own ground speed times the scale (the stride matches)
    walk_turn_deg: float = 8.0     # walkers: the most the heading turns per frame (a U-turn in ~0.75 s)

    def __post_init__(self):
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.temperature < 0 or self.lookahead_frames <= 0 or self.random_variety <= 0:
            raise ConfigError("temperature must be >= 0; lookahead_frames and random_variety > 0")
        if self.avoid_weight < 0 or self.avoid_reach < 0 or self.walk_turn_deg <= 0:
            raise ConfigError("avoid_weight and avoid_reach must be >= 0, walk_turn_deg > 0")
        if self.ground_speed_px_s is not None and not self.ground_speed_px_s > 0:
            raise ConfigError(f"ground_speed_px_s must be > 0 or None, got {self.ground_speed_px_s}")


class SpriteTexture:
    """Shared, read-only sprite data. Arrays are made read-only; instances never write to them."""

    def __init__(self, sprite: SpriteClip, control: SpriteControl, *, gait=None):
        """gait: a precompute.gait.Gait for this sprite, or None to analyse it on first use."""
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
        self._mirrored: dict = {}
        self._gait = gait
        self._extent = None

    @property
    def gait(self):
        """precompute.gait.Gait: does the subject move in place, and how it walks (analysed once)."""
        if self._gait is None:
            from precompute.gait import analyze_gait

            self._gait = analyze_gait(self.sprite)
        return self._gait

    @property
    def extent(self) -> tuple[float, float]:
        """(height, length) of the subject in sprite px (see `subject_extent`), measured once."""
        if self._extent is None:
            self._extent = subject_extent(self.sprite)
        return self._extent

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

    def link_scores(self, frame: int, direction: float, speed: float, mode: str = "future",
                    avoid=None) -> tuple:
        """(targets (k,) int32, scores (k,) float32) of the links out of `frame`; lower is better.

        avoid: None, or (toward (m, 2) unit vectors to the neighbours within reach, closeness
        (m,) in (0, 1], weight in natural steps): a link whose frame moves toward a neighbour pays
        weight x closeness x cos(angle to it), summed over the neighbours (Schödl & Essa 2002)."""
        sl = self.links(frame)
        targets = self.link_targets[sl]
        base = self.link_costs[sl]
        if mode == "random":
            return targets, base
        scores = base + self.control.control_cost(self._link_velocity[sl], direction, speed)
        if mode == "future":
            scores = scores + self.control.config.alpha * self._interpolated_values(targets, direction, speed)
        if avoid is not None:
            toward, closeness, weight = avoid
            v = self._link_velocity[sl]  # (k, 2)
            heading = v / np.maximum(np.hypot(v[:, 0], v[:, 1]), 1e-6)[:, None]
            scores = scores + weight * self.control.unit * (np.maximum(heading @ toward.T, 0) @ closeness)
        return targets, scores.astype(np.float32)

    def choose(self, frame: int, direction: float, speed: float, rng: np.random.Generator,
               config: SteeringConfig, avoid=None) -> int:
        """The next sprite frame after `frame` for the wanted direction and speed (clip px/frame)."""
        targets, scores = self.link_scores(frame, direction, speed, config.mode, avoid)
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

    def prepare(self, scale: float, *, mirrored: bool = False) -> None:
        """Fill the memo for every frame at `scale` (and mirrored), so that playing never stops to
        resize a frame it shows for the first time (~0.3 ms each: a school of 10 meeting several
        new frames at once would miss a frame's time)."""
        for frame in range(self.n_frames):
            self.scaled_frame(frame, scale)
            if mirrored:
                self.shown_frame(frame, scale, True)

    def shown_frame(self, frame: int, scale: float, mirrored: bool = False):
        """`scaled_frame`, or its left-right mirror image (a walker heading the other way)."""
        if not mirrored:
            return self.scaled_frame(frame, scale)
        key = (round(float(scale), 3), int(frame))
        hit = self._mirrored.get(key)
        if hit is None:
            side, x0, y0, premultiplied, inverse = self.scaled_frame(frame, scale)
            x0 = side - x0 - premultiplied.shape[1]  # the crop's corner in the flipped square
            hit = (side, x0, y0, np.ascontiguousarray(premultiplied[:, ::-1]), np.ascontiguousarray(inverse[:, ::-1]))
            if len(self._mirrored) > 20000:
                self._mirrored.clear()
            self._mirrored[key] = hit
        return hit


@dataclass
class SpriteState:
    """One instance's own state; never shared between instances."""

    x: float                       # position of the alpha centroid, background px
    y: float
    frame: int = 0                 # sprite frame shown
    scale: float = 1.0             # display scale: sprite px -> background px (velocities too)
    speed_factor: float = 1.0      # the user's speed (the slider): scales the playback rate, so
                                   # travel per second too (each frame moves by its own velocity)
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    pending_frames: float = 0.0    # sprite frames due but not yet played (update's clock)
    velocity: tuple = (0.0, 0.0)   # the last step, background px/frame
    mirrored: bool = False         # shown left-right mirrored (a walker heading the other way)
    heading: float | None = None   # walkers: the direction walked (rad, image axes); None = not yet
    walk_frames: float = 0.0       # walkers: footage frames due but not yet shown (the phase's clock)
    draw_offset: tuple = (0.0, 0.0)  # drawn this far from (x, y), background px: a walker's sway


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
        speed = float(np.clip(wanted_bg / s.scale, speeds[0], top))
        return float(np.arctan2(dy, dx)), speed

    def neighbour_field(self, neighbours):
        """The neighbours within reach: (toward (m, 2) unit vectors to them, closeness (m,) in
        (0, 1]: 1 - distance / reach), or None. neighbours (M, 2) background px; reach =
        avoid_reach subject lengths at this sprite's scale."""
        if neighbours is None or self.config.avoid_weight <= 0 or self.config.avoid_reach <= 0:
            return None
        s = self.state
        offsets = np.asarray(neighbours, np.float64).reshape(-1, 2) - (s.x, s.y)  # (M, 2)
        distance = np.hypot(offsets[:, 0], offsets[:, 1])
        reach = self.config.avoid_reach * self.texture.extent[1] * s.scale
        near = (distance < reach) & (distance > 1e-6)
        if not near.any():
            return None
        return offsets[near] / distance[near, None], 1 - distance[near] / reach

    def _lean_away(self, direction: float, field) -> float:
        """The wanted direction, leaning away from the neighbours within reach (boids' separation,
        LEAN times the closeness-weighted unit vectors away from them; 1 toward the target)."""
        if field is None:
            return direction
        toward, closeness = field
        away = -(closeness[:, None] * toward).sum(axis=0)  # (2,)
        vx, vy = np.cos(direction) + LEAN * away[0], np.sin(direction) + LEAN * away[1]
        return float(np.arctan2(vy, vx)) if vx * vx + vy * vy > 1e-12 else direction

    def step(self, target, neighbours=None) -> int:
        """Play one sprite frame toward `target` (x, y) background px; returns the frame shown.
        neighbours: (M, 2) background px of the other sprites of a school (kept apart), or None."""
        s = self.state
        field = self.neighbour_field(neighbours)
        if self.texture.gait.walks:
            return self._walk(target, field)
        direction, speed = self.wanted(target)
        direction = self._lean_away(direction, field)
        avoid = None if field is None else (*field, self.config.avoid_weight)
        s.frame = self.texture.choose(s.frame, direction, speed, s.rng, self.config, avoid)
        vx, vy = (float(v) * s.scale for v in self.texture.velocities[s.frame])
        s.x += vx
        s.y += vy
        s.velocity = (vx, vy)
        return s.frame

    def ground_speed(self) -> float:
        """A walker's travel, background px per played frame."""
        if self.config.ground_speed_px_s is not None:
            return self.config.ground_speed_px_s / self.texture.fps
        return float(self.texture.gait.ground_speed) * self.state.scale

    def _walk(self, target, field) -> int:
        """One frame of a walker in place: turn toward the target (at most walk_turn_deg), move by
        the ground speed, advance the footage by the phase that this travel is worth."""
        s = self.state
        gait = self.texture.gait
        wanted = self._lean_away(float(np.arctan2(target[1] - s.y, target[0] - s.x)), field)
        if s.heading is None:
            s.heading = wanted
        else:
            turn = (wanted - s.heading + np.pi) % (2 * np.pi) - np.pi
            limit = np.radians(self.config.walk_turn_deg)
            s.heading = float((s.heading + np.clip(turn, -limit, limit) + np.pi) % (2 * np.pi) - np.pi)
        facing = -gait.facing if s.mirrored else gait.facing  # the way the shown image faces
        if np.cos(s.heading) * facing < -0.2:  # heading the other way by more than ~12 deg: turn round
            s.mirrored = not s.mirrored
        natural = float(gait.ground_speed) * s.scale  # what the footage's own stride covers per frame
        s.walk_frames += self.ground_speed() / max(natural, 1e-6)
        advanced = 0
        while s.walk_frames >= 1.0 - 1e-9:  # the phase advances with the travel
            s.frame = int(gait.continuations[s.frame])
            s.walk_frames -= 1.0
            advanced += 1
        sway = gait.wobble[s.frame] * s.scale  # the legs sway the centroid; the body holds still
        s.draw_offset = (-float(sway[0]) if s.mirrored else float(sway[0]), float(sway[1]))
        # travel by the footage frames shown, not the mean speed: the planted foot stays put on the
        # ground in every frame (at a ground speed of 1.5x natural, 1 and 2 frames alternate)
        speed = advanced * natural
        vx, vy = speed * float(np.cos(s.heading)), speed * float(np.sin(s.heading))
        s.x += vx
        s.y += vy
        s.velocity = (vx, vy)
        return s.frame

    def update(self, dt_s: float, target, neighbours=None) -> int:
        """Advance by dt_s seconds (frame-locked at the texture's fps times the speed factor);
        returns frames played."""
        s = self.state
        s.pending_frames += max(0.0, float(dt_s)) * self.texture.fps * s.speed_factor
        played = 0
        while s.pending_frames >= 1.0 - 1e-6 and played < self.config.max_steps_per_update:
            self.step(target, neighbours)
            s.pending_frames -= 1.0
            played += 1
        s.pending_frames = min(max(s.pending_frames, 0.0), 1.0)  # the clock clamps a long stall
        return played


def subject_extent(sprite) -> tuple[float, float]:
    """(height, length) of the subject in sprite px: the median over frames of its matte's
    bounding-box height and of its longer side (alpha > 1/2)."""
    from precompute.gait import sprite_frame

    heights, lengths = [], []
    step = max(1, sprite.n_frames // 200)  # a sample is enough for a median
    for i in range(0, sprite.n_frames, step):
        solid = sprite_frame(sprite, i)[..., 3] > 127
        rows, cols = np.flatnonzero(solid.any(axis=1)), np.flatnonzero(solid.any(axis=0))
        if rows.size:
            heights.append(rows[-1] - rows[0] + 1)
            lengths.append(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)
    if not heights:
        return float(sprite.size), float(sprite.size)
    return float(np.median(heights)), float(np.median(lengths))


def default_scale(texture: "SpriteTexture", background_height: int, *, preferred: float,
                  height_share: float = 1 / 3) -> float:
    """The display scale: `preferred`, reduced so that the subject is at most `height_share` of
    the background's height (a 1056 px walker on a 720 px background becomes 240 px)."""
    height = texture.extent[0]
    if height <= 0:
        return preferred
    return float(min(preferred, height_share * background_height / height))


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
        side, crop_x, crop_y, premultiplied, inverse = sprite.texture.shown_frame(s.frame, s.scale, s.mirrored)
        h, w = premultiplied.shape[:2]
        x0 = int(round(s.x + s.draw_offset[0] - (side - 1) / 2)) + crop_x  # the crop's corner on the background
        y0 = int(round(s.y + s.draw_offset[1] - (side - 1) / 2)) + crop_y
        cx0, cy0 = max(0, -x0), max(0, -y0)
        cx1, cy1 = min(w, width - x0), min(h, height - y0)
        if cx1 <= cx0 or cy1 <= cy0:
            continue  # entirely off screen
        roi = out[y0 + cy0:y0 + cy1, x0 + cx0:x0 + cx1]  # (h, w, 3) view
        # out = premultiplied + background * (255 - alpha) / 255, rounded, saturating (cv2 SIMD)
        shaded = cv2.multiply(roi, inverse[cy0:cy1, cx0:cx1], scale=1 / 255)
        roi[:] = cv2.add(shaded, premultiplied[cy0:cy1, cx0:cx1])
    return out


class PointerTarget:
    """Where an interactive school swims: the mouse pointer, or a target dropped by a click that
    holds (however the mouse moves) until the next click drops another; a right click (button 3)
    lets go, and the pointer leads again. Positions in background px."""

    def __init__(self, start: tuple[float, float]):
        self.pointer = (float(start[0]), float(start[1]))
        self.held: tuple[float, float] | None = None

    @property
    def target(self) -> tuple[float, float]:
        return self.held if self.held is not None else self.pointer

    def moved(self, pos) -> None:
        self.pointer = (float(pos[0]), float(pos[1]))

    def clicked(self, pos, button=1) -> None:
        self.pointer = (float(pos[0]), float(pos[1]))
        self.held = None if button == 3 else self.pointer


def _target_at(times: np.ndarray, points: np.ndarray, time_s: float) -> tuple[float, float]:
    k = int(np.searchsorted(times, time_s, side="right")) - 1
    return tuple(points[max(k, 0)])


def _course(targets):
    order = sorted(targets, key=lambda item: float(item["t"]))
    if not order:
        raise ConfigError("targets is empty: give at least one {\"t\", \"x\", \"y\"}")
    times = np.array([float(item["t"]) for item in order])
    points = np.array([(float(item["x"]), float(item["y"])) for item in order])
    return times, points


def _play_output_frame(sprite: Sprite, target, neighbours=None) -> dict:
    """Play the sprite frames one output frame holds (speed_factor of them, carried over), and
    return its log entry: the frame shown, the position after it, the travel during it."""
    s = sprite.state
    x0, y0 = s.x, s.y
    s.pending_frames += s.speed_factor
    while s.pending_frames >= 1.0 - 1e-6:
        sprite.step(target, neighbours)
        s.pending_frames -= 1.0
    return {"frame": int(s.frame), "x": round(s.x, 3), "y": round(s.y, 3),
            "vx": round(s.x - x0, 4), "vy": round(s.y - y0, 4),
            "target_x": float(target[0]), "target_y": float(target[1])}


def steer_course(sprite: Sprite, targets, *, frames: int, start_frame: int = 0) -> list[dict]:
    """Steer through a scripted course: `targets` a list of {"t", "x", "y"} (seconds, background
    px). The target at output frame k is the latest one with t <= k / fps (the first before it).
    Plays output frames start_frame .. start_frame + frames - 1 (each holds speed_factor sprite
    frames) and returns their log entries {"frame", "x", "y", "vx", "vy", "target_x", "target_y"}
    (position after the output frame, travel during it, both in background px)."""
    times, points = _course(targets)
    fps = sprite.texture.fps
    return [_play_output_frame(sprite, _target_at(times, points, k / fps))
            for k in range(start_frame, start_frame + frames)]  # one entry per output frame


def steer_group(sprites, targets, *, frames: int, start_frame: int = 0, on_frame=None) -> list[list[dict]]:
    """A school chasing one course together (see `steer_course`): every output frame, each sprite
    plays its frames seeing where the others were at the frame's start (its neighbours, kept
    apart). Returns one log per sprite. on_frame(k): called after each output frame (to draw)."""
    times, points = _course(targets)
    fps = sprites[0].texture.fps
    logs = [[] for _ in sprites]
    for k in range(start_frame, start_frame + frames):
        target = _target_at(times, points, k / fps)
        where = np.array([(sp.state.x, sp.state.y) for sp in sprites])  # (M, 2) at the frame's start
        for n, sprite in enumerate(sprites):
            logs[n].append(_play_output_frame(sprite, target, np.delete(where, n, axis=0)))
        if on_frame is not None:
            on_frame(k)
    return logs


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


def sprite_set_for(path, *, control_config=None) -> list[tuple[str, SpriteClip, SpriteControl]]:
    """A saved sprite set (`framechain sprite CLIP --all -o FOLDER`): (folder name, SpriteClip,
    SpriteControl) per subject, in the set's order; a subject saved without its control tables is
    analysed here. The subjects come from one clip, so they must share one frame rate (a school is
    stepped on one clock)."""
    from precompute.control import ControlConfig, analyze_control, load_sprite, sprite_set_folders

    control_config = control_config or ControlConfig()
    subjects = []
    for folder in sprite_set_folders(path):
        sprite, control, _ = load_sprite(folder)
        if control is None:
            control = analyze_control(sprite, control_config)
        subjects.append((folder.name, sprite, control))
    rates = {round(float(sprite.fps), 6) for _, sprite, _ in subjects}
    if len(rates) > 1:
        raise ConfigError(f"{path}: the set's sprites play at different frame rates ({sorted(rates)} fps); "
                          "make the set from one clip with `framechain sprite CLIP --all -o FOLDER`")
    return subjects

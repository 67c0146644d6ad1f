"""The embedded procedural fish: a koi seen from above, swimming in every direction with a tail beat.

`fish_sprite_clip()` renders a sprite clip directly (RGBA frames registered on their alpha
centroid, plus the centroid's velocity in pixels per frame), so the default steering demo needs no
footage. The path is a seeded sequence of manoeuvres (straight runs, left and right turns of
several rates, three cruising speeds), so that every heading is visited many times, at every
speed, turning both ways: what the control analysis needs to steer anywhere.

Seen from above, an in-plane rotation of the fish is a natural pose at every heading (a side
view would swim upside down when heading left). The body bends along the path's curvature and the
tail beats at a rate that follows the speed.

`pond_background()` paints the default 1280x720 background (water with soft caustics and stones).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["FishConfig", "fish_sprite_clip", "pond_background"]


@dataclass(frozen=True)
class FishConfig:
    frames: int = 900             # clip length; more frames = more ways to turn from each pose
    fps: float = 30.0             # playback rate the velocities are meant for
    size: int = 128               # sprite frame side in px (fish length ~0.8 of it)
    speeds: tuple = (2.5, 5.5, 10.0)  # cruising speeds, px/frame; the control tables follow them
    turn_rates: tuple = (-0.24, -0.12, 0.0, 0.0, 0.12, 0.24)  # rad/frame; 0 twice = more straight runs
    manoeuvre_frames: tuple = (14, 40)  # each manoeuvre lasts this many frames (uniform range)
    supersample: int = 2          # drawing resolution factor (anti-aliasing of edges and alpha)
    seed: int = 7                 # fixes the path and the koi's patches


def _path(config: FishConfig, rng: np.random.Generator):
    """Heading (rad), turn rate (rad/frame), speed (px/frame), tail phase per frame: (T,) each."""
    n = config.frames
    target_turn = np.empty(n)
    target_speed = np.empty(n)
    start = 0
    while start < n:
        length = int(rng.integers(config.manoeuvre_frames[0], config.manoeuvre_frames[1] + 1))
        target_turn[start:start + length] = rng.choice(config.turn_rates)
        target_speed[start:start + length] = rng.choice(config.speeds)
        start += length
    turn = np.empty(n)
    speed = np.empty(n)
    t, s = 0.0, config.speeds[1]
    for i in range(n):  # first-order lag: manoeuvres blend smoothly (a loop over frames, not pixels)
        t += 0.25 * (target_turn[i] - t)
        s += 0.12 * (target_speed[i] - s)
        turn[i], speed[i] = t, s
    heading = rng.uniform(-np.pi, np.pi) + np.cumsum(turn)
    # tail beat: ~1.5 beats/s at the slow speed, faster when swimming fast or turning
    beat = 2 * np.pi * (0.05 + 0.012 * speed + 0.1 * np.abs(turn))
    phase = np.cumsum(beat)
    return heading, turn, speed, phase


def _koi_patches(rng: np.random.Generator):
    """A few orange/black patches in body coordinates: lists of (s, lateral) with s 0=head..1=tail."""
    patches = []
    for k in range(4):
        centre_s = rng.uniform(0.1, 0.75)
        centre_t = rng.uniform(-0.5, 0.5)
        rs, rt = rng.uniform(0.07, 0.16), rng.uniform(0.35, 0.8)
        angles = np.linspace(0, 2 * np.pi, 18, endpoint=False)
        wobble = 1 + 0.25 * np.sin(3 * angles + rng.uniform(0, 6))
        s = centre_s + rs * wobble * np.cos(angles)
        lateral = np.clip(centre_t + rt * wobble * np.sin(angles), -1.2, 1.2)
        colour = (235, 95, 25) if k < 3 else (30, 28, 30)
        patches.append((s, lateral, colour))
    return patches


def _body_geometry(length, width, phase, curvature):
    """Spine (K, 2) from head (s=0) to tail (s=1) in fish coordinates (x forward, y left), the
    unit normals (K, 2), and half widths (K,)."""
    s = np.linspace(0.0, 1.0, 40)
    x = length * (0.5 - s)
    # bend along the path (both ends toward the turn's centre) + a travelling tail wave
    y = curvature * (length * (s - 0.35)) ** 2 / 2 + 0.12 * length * s ** 2.2 * np.sin(phase - 3.0 * s)
    spine = np.stack([x, y], axis=1)  # (K, 2)
    tangent = np.gradient(spine, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1)
    half_width = width * 0.5 * np.sqrt(np.clip(s, 0, 1) * 4 + 0.05) * (1 - s) ** 1.1
    half_width = np.minimum(half_width, width * 0.5)
    return s, spine, normal, half_width


def _render(config, heading, turn, speed, phase, patches):
    """One RGBA sprite frame (size, size, 4) uint8 with the fish's body centre at the frame centre."""
    ss = config.supersample
    canvas = int(round(config.size * 1.25))  # room for a bent body before registration crops it
    side = canvas * ss
    length = 0.52 * config.size * ss
    width = 0.18 * config.size * ss
    curvature = np.clip(turn / max(speed, 1e-3), -0.045, 0.045) / ss
    s, spine, normal, half_width = _body_geometry(length, width, phase, curvature)
    cos_h, sin_h = np.cos(heading), np.sin(heading)
    # fish coordinates (x forward, y left) -> image (x right, y down); heading 0 = +x, counter-clockwise
    rot = np.array([[cos_h, -sin_h], [-sin_h, -cos_h]])  # columns: forward (c, -s), left (-s, -c)

    def to_image(points):  # (K, 2) -> (K, 1, 2) int32 for cv2 (fixed point, 4 fractional bits)
        p = points @ rot.T + side / 2
        return np.round(p * 16).astype(np.int32).reshape(-1, 1, 2)

    colour = np.zeros((side, side, 3), np.float32)
    alpha = np.zeros((side, side), np.float32)

    def fill(points, rgb, opacity=1.0, clip_to_body=None):
        polygon = to_image(points)
        x0, y0 = np.maximum(polygon.reshape(-1, 2).min(axis=0) // 16 - 2, 0)
        x1, y1 = np.minimum(polygon.reshape(-1, 2).max(axis=0) // 16 + 3, side)
        box = (slice(y0, y1), slice(x0, x1))  # work inside the polygon's bounding box only
        if x1 <= x0 or y1 <= y0:
            return np.zeros((side, side), np.float32)
        mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(mask, [polygon - np.int32([x0 * 16, y0 * 16])], 255, cv2.LINE_AA, shift=4)
        m = mask.astype(np.float32) * (opacity / 255)
        if clip_to_body is not None:
            m = np.minimum(m, clip_to_body[box])
        colour[box] += (np.asarray(rgb, np.float32) - colour[box]) * m[..., None]
        np.maximum(alpha[box], m, out=alpha[box])
        full = np.zeros((side, side), np.float32)
        full[box] = m
        return full

    # tail fin: a forked fan at the end of the spine, following its direction
    tail_dir = spine[-1] - spine[-4]
    tail_dir /= np.linalg.norm(tail_dir)
    tail_n = np.array([-tail_dir[1], tail_dir[0]])
    base = spine[-3]
    span = 0.22 * length
    fan = [base + tail_n * 0.05 * length,
           base + tail_dir * span + tail_n * 0.2 * length,
           base + tail_dir * 0.6 * span,
           base + tail_dir * span - tail_n * 0.2 * length,
           base - tail_n * 0.05 * length]
    fill(np.array(fan), (250, 200, 170), 0.75)
    # pectoral fins, beating gently
    for side_sign in (1, -1):
        root = spine[9] + side_sign * normal[9] * half_width[9] * 0.8
        flap = 0.15 * np.sin(phase * 0.5)
        back = -np.array([1.0, 0.0])
        out = np.array([0.0, side_sign])
        tip = root + (0.16 * length) * (0.6 * back + (0.8 + flap) * out)
        fin = [root, tip, root + 0.12 * length * back]
        fill(np.array(fin), (250, 215, 190), 0.7)
    # body outline: left edge head->tail, right edge tail->head
    left = spine + normal * half_width[:, None]
    right = spine - normal * half_width[:, None]
    body = fill(np.concatenate([left, right[::-1]]), (245, 240, 230))
    for ps, lateral, rgb in patches:
        idx = np.clip(ps, 0, 1) * (len(s) - 1)
        lo = np.floor(idx).astype(int).clip(0, len(s) - 2)
        frac = (idx - lo)[:, None]
        point = spine[lo] * (1 - frac) + spine[lo + 1] * frac
        nrm = normal[lo] * (1 - frac) + normal[lo + 1] * frac
        hw = (half_width[lo] * (1 - frac[:, 0]) + half_width[lo + 1] * frac[:, 0])[:, None]
        fill(point + nrm * hw * lateral[:, None], rgb, 1.0, clip_to_body=body)
    # a darker spine line and eyes
    shade = np.zeros((side, side), np.uint8)
    cv2.polylines(shade, [to_image(spine[3:30])], False, 255, max(1, int(2 * ss)), cv2.LINE_AA, shift=4)
    m = np.minimum(cv2.GaussianBlur(shade, (0, 0), 2 * ss).astype(np.float32) / 255 * 0.35, body)
    colour *= 1 - m[..., None]
    for side_sign in (1, -1):
        eye = spine[3] + side_sign * normal[3] * half_width[3] * 0.75
        centre = tuple(int(v) for v in np.round((eye @ rot.T + side / 2) * 16))
        mask = np.zeros((side, side), np.uint8)
        cv2.circle(mask, centre, int(0.028 * length * 16), 255, -1, cv2.LINE_AA, shift=4)
        e = mask.astype(np.float32)[..., None] / 255
        colour[:] = colour * (1 - e) + 20 * e
    premultiplied = colour * alpha[..., None]
    small = canvas
    premultiplied = cv2.resize(premultiplied, (small, small), interpolation=cv2.INTER_AREA)
    alpha_small = cv2.resize(alpha, (small, small), interpolation=cv2.INTER_AREA)
    rgb = premultiplied / np.maximum(alpha_small, 1e-6)[..., None]
    rgba = np.concatenate([rgb, alpha_small[..., None] * 255], axis=2)
    return np.clip(np.round(rgba), 0, 255).astype(np.uint8)


def _register_on_centroid(rgba: np.ndarray, size: int):
    """Cut a (size, size, 4) frame from a rendered canvas (C, C, 4) with the alpha centroid at
    its centre (sub-pixel; colour premultiplied while resampling). Returns (frame, offset of the
    centroid from the canvas centre)."""
    a = rgba[..., 3].astype(np.float64)
    total = a.sum()
    ys, xs = np.indices(a.shape)
    cx, cy = (xs * a).sum() / total, (ys * a).sum() / total
    centre = (size - 1) / 2
    shift = np.float32([[1, 0, centre - cx], [0, 1, centre - cy]])
    f = rgba.astype(np.float32)
    f[..., :3] *= f[..., 3:] / 255
    out = cv2.warpAffine(f, shift, (size, size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    out[..., :3] /= np.maximum(out[..., 3:], 1e-3) / 255
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    canvas_centre = (rgba.shape[1] - 1) / 2
    return out, np.array([cx - canvas_centre, cy - canvas_centre])


def fish_sprite_clip(config: FishConfig = FishConfig(), *, progress: bool = False):
    """Render the procedural fish (`progress`: a tqdm bar; ~5 s). Returns (rgba, velocities, fps):

    rgba (T, S, S, 4) uint8, registered on the alpha centroid (the centroid is at the frame centre);
    velocities (T, 2) float32, the centroid's motion from frame t to t+1 in px/frame (image axes:
    x right, y down), the last frame repeating the one before; fps float.
    """
    rng = np.random.default_rng(config.seed)
    heading, turn, speed, phase = _path(config, rng)
    patches = _koi_patches(rng)
    # body-centre positions: integrate the velocity along the heading (image y points down)
    step = np.stack([np.cos(heading), -np.sin(heading)], axis=1) * speed[:, None]  # (T, 2)
    position = np.cumsum(step, axis=0)
    frames = np.empty((config.frames, config.size, config.size, 4), np.uint8)
    centroids = np.empty((config.frames, 2))
    from tqdm import tqdm

    for i in tqdm(range(config.frames), desc="drawing the koi (once)", unit="frame",
                  disable=not progress, leave=False):  # one draw per frame
        frame = _render(config, heading[i], turn[i], speed[i], phase[i], patches)
        frames[i], offset = _register_on_centroid(frame, config.size)
        centroids[i] = position[i] + offset
    velocities = np.diff(centroids, axis=0)
    # the tail's wobble moves the alpha centroid a little each beat: smooth over 5 frames as
    # the extraction does for footage
    kernel = np.array([1, 4, 6, 4, 1], float) / 16
    padded = np.pad(velocities, ((2, 2), (0, 0)), mode="edge")
    velocities = np.stack([np.convolve(padded[:, k], kernel, mode="valid") for k in range(2)], axis=1)
    velocities = np.concatenate([velocities, velocities[-1:]], axis=0).astype(np.float32)
    return frames, velocities, float(config.fps)


def pond_background(width: int = 1280, height: int = 720, *, seed: int = 3) -> np.ndarray:
    """A pond seen from above: (height, width, 3) uint8 RGB, deep green-blue with caustics and stones."""
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    depth = 0.5 + 0.5 * np.sin(xs / width * 2.1 + 0.4) * np.cos(ys / height * 1.7)
    base = np.stack([20 + 18 * depth, 62 + 30 * depth, 70 + 28 * depth], axis=2)
    image = base.astype(np.float32)
    for _ in range(28):  # pebbles on the bottom
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        rx, ry = rng.uniform(14, 60), rng.uniform(10, 40)
        tone = rng.uniform(-18, 22)
        mask = np.zeros((height, width), np.uint8)
        cv2.ellipse(mask, (int(cx), int(cy)), (int(rx), int(ry)), rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA)
        m = cv2.GaussianBlur(mask, (0, 0), 4).astype(np.float32)[..., None] / 255
        image += m * np.array([tone, tone * 0.9 + 4, tone * 0.7], np.float32)
    # caustics: bright thin ridges where two warped wave fields cancel, a net of light cells
    wave_a = np.sin(xs * 0.031 + 1.7 * np.sin(ys * 0.023 + 0.5))
    wave_b = np.sin(ys * 0.037 + 1.7 * np.sin(xs * 0.019 + 1.3))
    wave_c = np.sin((xs + ys) * 0.021 + 1.2 * np.sin((xs - ys) * 0.017))
    ridge = 1 - np.minimum(np.abs(wave_a + wave_b + wave_c) / 1.2, 1)
    image += (ridge ** 4 * 30)[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)

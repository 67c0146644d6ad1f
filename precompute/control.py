"""Video sprites, control analysis: which frame to show next to swim toward a target.

Costs (section 9 of the algorithms reference), in RMS units like the rest of the project, and
scaled by `unit` = the median natural step of the sprite (so weights read as "natural steps"):

- base cost of showing j after i:  B[i, j] = vis[i, j] + w_v * unit * |v_next(i) - v_j| / speed + w_j * unit
  where vis[i, j] is the diagonally filtered (m = 1) distance of registered colour + alpha,
  `(D[i+1, j] + D[i, j-1]) / 2`, taking only the taps that exist inside the segments (a segment's
  last frame has no i+1; a segment's first frame has no j-1). B = 0 on the natural step.
  v_next(i) is the velocity i would have continued with (v[i+1], or v[i] at a segment end);
  w_j is a flat price per jump (fewer, longer runs of footage).
  Identity (issue 14): B also adds w_c * unit * |c_j - c_i| / c_nat, where c is a frame's mean
  colour and c_nat the p99 natural frame-to-frame change of it, and B = inf where
  |c_j - c_i| > max(colour_limit * c_nat, colour_floor): a jump never joins two differently
  coloured subjects (extraction already keeps one subject per sprite; this keeps it so for any
  sprite clip).
- control cost of showing j when the wanted direction is theta and the wanted speed s:
  E[j] = w_d * unit * angle(v_j, theta) / pi + w_s * unit * |ln(|v_j| / s)|.
- future cost per control table (d, s) over D directions x S speeds:
  V_ds = future_cost(B + E_ds) (min form, precompute.future_cost), so a frame that leads into a
  dead end (a segment end that only costly jumps leave, a stretch swimming the wrong way) costs
  what follows it, not only what it looks like.

Links are sparse: each frame keeps its natural step and its `links_per_frame` cheapest jumps.
The runtime (engine/sprite.py) scores the links of the current frame by
B + E(theta, s) + alpha * V(theta, s), with V interpolated between the two nearest direction
tables and the two nearest speed tables.

Saved with the sprite as a folder (format "framechain-sprite", version 2): manifest.json (format,
version, settings, source, stats, files with sha256), sprite.npz (frames stored cropped, see
precompute.sprites.SpriteFrames; compressed) and control.npz (allow_pickle=False). Angles are in image axes: atan2(vy, vx) with y down (90 deg = down).
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from precompute.errors import AnalysisError, ClipError, ConfigError

# OpenCV, numba (distances, future cost) and the sprite extraction are imported where they are
# used: `info` and `steer` ask is_sprite / is_sprite_set of a folder without paying ~0.4 s for
# them (issue 17).

__all__ = ["ControlConfig", "SpriteControl", "sprite_features", "frame_colours", "colour_gate",
           "base_costs", "control_costs",
           "analyze_control", "save_sprite", "save_sprite_set", "load_sprite", "is_sprite", "is_sprite_set",
           "sprite_set_folders", "load_sprite_set", "FORMAT", "FORMAT_VERSION", "SET_FORMAT"]

FORMAT = "framechain-sprite"
FORMAT_VERSION = 2  # 2: frames stored cropped (pixels, crop_offsets, crop_boxes, size), compressed


@dataclass(frozen=True)
class ControlConfig:
    feature_width: int = 24        # registered frames are compared at this size (px); larger = finer, slower
    velocity_weight: float = 1.0   # cost of a velocity jump of one median speed, in natural steps;
                                   # raise it to forbid sudden changes of direction at jumps
    direction_weight: float = 20.0  # cost per frame of swimming 180 deg off the wanted direction,
                                   # in natural steps; raise it for tighter steering, more jumps
                                   # (10 left a real fish 28 deg off on reachable courses, 20: 18)
    speed_weight: float = 1.5      # cost per frame of a speed off the wanted one by a factor e
    jump_penalty: float = 2.0      # added to every jump, in natural steps: raise it for fewer,
                                   # longer runs of the footage (less steering precision)
    directions: int = 8            # direction tables (the original used 8); more = finer, slower
    speed_quantiles: tuple = (0.15, 0.5, 0.9)  # the speed tables: these quantiles of the clip's speeds
    links_per_frame: int = 48      # cheapest jumps kept per frame besides the natural step
    min_jump_frames: int = 3       # jumps landing closer than this to the natural successor only
                                   # stutter: forbidden
    alpha: float = 0.97            # future-cost discount per frame: ~1/(1-alpha) frames of lookahead
    p: float = 1.0                 # cost exponent (higher favours several small jumps over one big)
    device: str = "cpu"            # distances on "cpu", "cuda" or "auto"
    colour_limit: float = 1.5      # identity: a jump whose shown frames differ in mean colour by more
                                   # than this many times the clip's p99 natural frame-to-frame
                                   # change is forbidden (it would join two different subjects)
    colour_floor: float = 6.0      # ... but never below this change of mean colour (0..255 RGB):
                                   # a uniformly coloured subject's natural change is ~0
    colour_weight: float = 0.0     # cost of a jump's mean-colour change, in natural steps per p99
                                   # natural change (prefer like-coloured jumps); 0: the limit alone,
                                   # as a soft term cost the fish clip 2-9 deg of steering angle

    def __post_init__(self):
        if self.directions < 4:
            raise ConfigError(f"directions must be >= 4, got {self.directions}")
        if len(self.speed_quantiles) < 1 or not all(0 < q < 1 for q in self.speed_quantiles):
            raise ConfigError(f"speed_quantiles must be in (0, 1), got {self.speed_quantiles}")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.links_per_frame < 1 or self.min_jump_frames < 1:
            raise ConfigError("links_per_frame and min_jump_frames must be >= 1")
        if not (self.colour_limit > 0 and self.colour_floor >= 0 and self.colour_weight >= 0):
            raise ConfigError("colour_limit must be > 0, colour_floor and colour_weight >= 0")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["speed_quantiles"] = list(self.speed_quantiles)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ControlConfig":
        d = dict(d)
        d["speed_quantiles"] = tuple(d.get("speed_quantiles", cls.speed_quantiles))
        return cls(**d)


@dataclass(frozen=True, eq=False)
class SpriteControl:
    """The control analysis of a sprite clip of N frames (see the module doc).

    link_offsets (N+1,) int64 CSR rows; link_targets (nnz,) int32; link_costs (nnz,) float32 = B;
    directions (D,) float32 radians; speeds (S,) float32 px/frame; future_values (D, S, N) float32;
    unit: the median natural step (RMS); median_speed px/frame."""

    link_offsets: np.ndarray
    link_targets: np.ndarray
    link_costs: np.ndarray
    directions: np.ndarray
    speeds: np.ndarray
    future_values: np.ndarray
    unit: float
    median_speed: float
    config: ControlConfig
    stats: dict = field(default_factory=dict)

    def control_cost(self, velocities: np.ndarray, direction: float, speed: float) -> np.ndarray:
        """E for velocities (k, 2) given the wanted direction (rad) and speed (px/frame): (k,) float32."""
        return control_costs(velocities, direction, speed, unit=self.unit, config=self.config,
                             median_speed=self.median_speed)


def sprite_features(frames, *, feature_width: int = 24) -> np.ndarray:
    """A SpriteClip (frame by frame) or (N, S, S, 4) uint8 RGBA -> (N, w*w*4) float32:
    premultiplied colour and alpha of the whole registered frame at w x w, 0..255."""
    import cv2

    from precompute.sprites import SpriteClip

    is_clip = isinstance(frames, SpriteClip)
    n = frames.n_frames if is_clip else frames.shape[0]
    out = np.empty((n, feature_width, feature_width, 4), np.float32)
    for i in range(n):  # one resize per frame
        f = (frames.frame(i) if is_clip else frames[i]).astype(np.float32)
        f[..., :3] *= f[..., 3:] / 255  # premultiplied: colour under zero alpha does not count
        out[i] = cv2.resize(f, (feature_width, feature_width), interpolation=cv2.INTER_AREA)
    return out.reshape(n, -1)  # (N, w*w*4)


def _angle_between(velocities: np.ndarray, direction: float) -> np.ndarray:
    """(k, 2) velocities -> (k,) angle in [0, pi] to the direction (rad, image axes)."""
    a = np.arctan2(velocities[:, 1], velocities[:, 0]) - direction
    return np.abs((a + np.pi) % (2 * np.pi) - np.pi)


def control_costs(velocities: np.ndarray, direction: float, speed: float, *, unit: float,
                  config: ControlConfig, median_speed: float) -> np.ndarray:
    """E[j] = w_d unit angle(v_j, direction) / pi + w_s unit |ln(|v_j| / speed)|: (k,) float32."""
    v = np.asarray(velocities, np.float64).reshape(-1, 2)
    norm = np.maximum(np.hypot(v[:, 0], v[:, 1]), 0.05 * median_speed)
    angle = _angle_between(v, direction)
    speed_off = np.abs(np.log(norm / max(float(speed), 1e-6)))
    return (unit * (config.direction_weight * angle / np.pi + config.speed_weight * speed_off)).astype(np.float32)


def frame_colours(features: np.ndarray) -> np.ndarray:
    """Mean colour (N, 3) float32, 0..255, of frames given as `sprite_features` (premultiplied)."""
    n = features.shape[0]
    f = features.reshape(n, -1, 4).astype(np.float64)
    alpha = f[..., 3].sum(axis=1) / 255  # (N,) coverage
    return (f[..., :3].sum(axis=1) / np.maximum(alpha, 1e-6)[:, None]).astype(np.float32)


def colour_gate(colours: np.ndarray, has_successor: np.ndarray, config: ControlConfig = ControlConfig()):
    """(change (N, N) float32: mean-colour change |c_j - c_i| of showing j after i, limit: the
    largest change a jump may make, natural: the p99 natural frame-to-frame change)."""
    c = np.asarray(colours, np.float32)
    change = np.sqrt(((c[:, None, :] - c[None, :, :]) ** 2).sum(axis=2))  # (N, N)
    rows = np.flatnonzero(has_successor)
    natural = float(np.percentile(change[rows, rows + 1], 99)) if rows.size else 0.0
    return change, max(config.colour_limit * natural, config.colour_floor), natural


def base_costs(distances: np.ndarray, velocities: np.ndarray, has_successor: np.ndarray, *,
               unit: float, median_speed: float, config: ControlConfig = ControlConfig(),
               colours: np.ndarray | None = None) -> np.ndarray:
    """Dense B (N, N) float32 from distances (N, N) RMS, velocities (N, 2), has_successor (N,) bool.

    inf where forbidden (stutters: landing within min_jump_frames of the natural successor; with
    `colours` (N, 3), jumps that change the mean colour by more than `colour_gate`'s limit: two
    different subjects); 0 on the natural steps. Segment-aware m = 1 filter, see the module doc.
    A frame whose every jump the colour limit would forbid keeps them (a way on is needed)."""
    d = np.asarray(distances, np.float32)
    n = d.shape[0]
    succ = np.asarray(has_successor, bool)
    pred = np.zeros(n, bool)
    pred[1:] = succ[:-1]  # j has a predecessor j-1 in its segment
    forward = np.full((n, n), np.nan, np.float32)
    forward[succ] = d[np.flatnonzero(succ) + 1]  # row i: D[i+1, :] where i+1 follows i
    backward = np.full((n, n), np.nan, np.float32)
    backward[:, pred] = d[:, np.flatnonzero(pred) - 1]  # column j: D[:, j-1] where j-1 precedes j
    both = np.stack([forward, backward])  # (2, N, N)
    count = np.sum(~np.isnan(both), axis=0)
    vis = np.where(count > 0, np.nansum(both, axis=0) / np.maximum(count, 1), d + unit)  # no tap: D + a step
    del both, forward, backward
    v = np.asarray(velocities, np.float32)
    v_next = v.copy()
    v_next[succ] = v[np.flatnonzero(succ) + 1]
    dv = np.sqrt(((v_next[:, None, :] - v[None, :, :]) ** 2).sum(axis=2))  # (N, N)
    costs = (vis + config.velocity_weight * unit * dv / max(median_speed, 1e-6)).astype(np.float32)
    # forbid stutters: landing within min_jump_frames of i+1 inside i's own segment (repeating
    # or skipping a frame or two); the natural step itself costs 0
    segment = np.concatenate([[0], np.cumsum(~succ[:-1])])  # (N,) segment id per frame
    offset = np.arange(n)[None, :] - (np.arange(n)[:, None] + 1)  # j - (i+1)
    stutter = (np.abs(offset) < config.min_jump_frames) & (segment[None, :] == segment[:, None])
    np.fill_diagonal(stutter, True)
    costs[stutter] = np.inf
    if colours is not None:
        change, limit, natural = colour_gate(colours, succ, config)
        costs += (config.colour_weight * unit / max(natural, 1.0)) * change
        apart = change > limit
        blocked = np.isfinite(costs) & apart
        stuck = ~np.any(np.isfinite(costs) & ~apart, axis=1)  # no allowed jump at all: keep its own
        blocked[stuck] = False
        costs[blocked] = np.inf
        del change, apart, blocked
    costs += np.float32(config.jump_penalty * unit)
    rows = np.flatnonzero(succ)
    costs[rows, rows + 1] = 0.0
    return costs


def _sparsify(costs: np.ndarray, has_successor: np.ndarray, keep: int):
    """Keep each row's natural step and its `keep` cheapest finite jumps: CSR arrays."""
    n = costs.shape[0]
    keep = min(keep, n - 1)
    cheapest = np.argpartition(costs, keep - 1, axis=1)[:, :keep]  # (N, keep)
    mask = np.zeros(costs.shape, bool)
    np.put_along_axis(mask, cheapest, True, axis=1)
    rows = np.flatnonzero(has_successor)
    mask[rows, rows + 1] = True
    mask &= np.isfinite(costs)
    counts = mask.sum(axis=1)
    if (counts == 0).any():
        raise AnalysisError(f"sprite frames {np.flatnonzero(counts == 0)[:10].tolist()} have no way on; "
                            "the sprite clip is too short for min_jump_frames")
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    targets = np.nonzero(mask)[1].astype(np.int32)  # row-major: sorted by source frame
    return offsets, targets, costs[mask].astype(np.float32)


def analyze_control(sprite: SpriteClip, config: ControlConfig = ControlConfig()) -> SpriteControl:
    """Distances, base costs, sparse links and one future-cost table per direction x speed."""
    from precompute.distances import frame_distances
    from precompute.future_cost import future_cost

    started = time.perf_counter()
    n = sprite.n_frames
    features = sprite_features(sprite, feature_width=config.feature_width)  # (N, d)
    # RMS units: Euclidean / sqrt(d), as docs/ARCHITECTURE.md fixes for every cost
    distances = frame_distances(features, device=config.device) / np.float32(np.sqrt(features.shape[1]))
    succ = sprite.has_successor
    rows = np.flatnonzero(succ)
    natural = distances[rows, rows + 1]
    unit = float(np.median(natural[natural > 0])) if np.any(natural > 0) else 1.0
    speed = np.hypot(sprite.velocities[:, 0], sprite.velocities[:, 1])
    median_speed = float(np.median(speed)) if np.median(speed) > 0 else 1.0
    colours = frame_colours(features)  # identity: jumps never join differently coloured subjects
    dense = base_costs(distances, sprite.velocities, succ, unit=unit, median_speed=median_speed,
                       config=config, colours=colours)
    offsets, targets, link_costs = _sparsify(dense, succ, config.links_per_frame)
    sparse = np.full((n, n), np.inf, np.float32)
    sparse[np.repeat(np.arange(n), np.diff(offsets)), targets] = link_costs
    directions = (np.arange(config.directions) * 2 * np.pi / config.directions).astype(np.float32)
    speeds = np.quantile(speed, config.speed_quantiles).astype(np.float32)
    speeds = np.maximum(speeds, 0.05 * median_speed)
    values = np.empty((len(directions), len(speeds), n), np.float32)
    passes = []
    probe = SpriteControl(offsets, targets, link_costs, directions, speeds, values, unit, median_speed, config)
    for a, direction in enumerate(directions):  # one table per direction x speed
        for b, wanted in enumerate(speeds):
            control = probe.control_cost(sprite.velocities, float(direction), float(wanted))  # (N,)
            result = future_cost(sparse + control[None, :], alpha=config.alpha, p=config.p)
            values[a, b] = result.value
            passes.append(int(result.passes))
    is_jump = np.ones(targets.shape[0], bool)
    src = np.repeat(np.arange(n), np.diff(offsets))
    is_jump[(targets == src + 1) & succ[src]] = False
    stats = {"frames": n, "links": int(targets.shape[0]), "unit": unit, "median_speed": median_speed,
             "segments": int(len(np.unique(sprite.segments))),
             "mean_jump_cost_over_unit": float(link_costs[is_jump].mean() / unit) if is_jump.any() else 0.0,
             "future_cost_passes": passes, "seconds": round(time.perf_counter() - started, 2)}
    natural_colour = np.hypot.reduce(colours[rows + 1] - colours[rows], axis=1) if rows.size else np.zeros(1)
    stats["colour_natural_p99"] = float(np.percentile(natural_colour, 99))
    stats["colour_limit"] = max(config.colour_limit * stats["colour_natural_p99"], config.colour_floor)
    return SpriteControl(offsets, targets, link_costs, directions, speeds, values, unit, median_speed, config, stats)


# --- save and load -----------------------------------------------------------------------------

_SPRITE_KEYS = ("pixels", "crop_offsets", "crop_boxes", "size", "velocities", "positions", "segments",
                "source_frames", "mirrored")
_CONTROL_KEYS = ("link_offsets", "link_targets", "link_costs", "directions", "speeds", "future_values")


from precompute.bundle import sha256_file as _sha256  # noqa: E402  (one hashing helper)


def is_sprite(path: str | os.PathLike) -> bool:
    """True when `path` is a saved sprite folder (has a manifest of the sprite format)."""
    manifest = Path(path) / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        return json.loads(manifest.read_text()).get("format") == FORMAT
    except (OSError, ValueError):
        return False


def save_sprite(out: str | os.PathLike, sprite: SpriteClip, control: SpriteControl | None = None, *,
                source: dict | None = None, extraction: ExtractionConfig | None = None) -> Path:
    """Write the sprite (and its control analysis) to the folder `out`, atomically (temp + rename)."""
    from precompute.files import replace_folder, temp_folder

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_folder(out)  # 0755: a sprite folder is ordinary output
    try:
        frames = sprite.crops
        arrays = {"pixels": frames.pixels, "crop_offsets": frames.offsets,
                  "crop_boxes": frames.boxes.astype(np.int32), "size": np.int32(frames.side)}
        arrays.update({k: np.asarray(getattr(sprite, k)) for k in _SPRITE_KEYS[4:]})
        # compressed: the crops are mostly zero outside the subject's outline
        np.savez_compressed(temp / "sprite.npz", **arrays)
        files = {"sprite.npz": _sha256(temp / "sprite.npz")}
        if control is not None:
            np.savez(temp / "control.npz", **{k: np.asarray(getattr(control, k)) for k in _CONTROL_KEYS})
            files["control.npz"] = _sha256(temp / "control.npz")
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "fps": sprite.fps,
            "frames": sprite.n_frames, "size": sprite.size, "source": source or {},
            "extraction": asdict(extraction) if extraction is not None else None,
            "sprite_info": sprite.info,
            "control": None if control is None else {
                "config": control.config.to_dict(), "unit": control.unit,
                "median_speed": control.median_speed, "stats": control.stats},
            "files": files,
        }
        (temp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=float))
        replace_folder(temp, out)  # an old sprite of ours, never a folder of the user's
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return out


SET_FORMAT = "framechain-sprite-set"  # a folder of sprites, one per subject (sprite --all)


def save_sprite_set(out: str | os.PathLike, sprites: list, controls: list, *, source: dict | None = None,
                    extraction: ExtractionConfig | None = None) -> Path:
    """Write one sprite folder per subject into the folder `out` (subject-00, subject-01, ...,
    ranked as extracted) and a manifest.json listing them, atomically (temp + rename)."""
    from precompute.files import replace_folder, temp_folder

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_folder(out)
    try:
        listed = []
        for k, (sprite, control) in enumerate(zip(sprites, controls)):
            name = f"subject-{k:02d}"
            save_sprite(temp / name, sprite, control, source=source, extraction=extraction)
            listed.append({"folder": name, "subject": int(sprite.info.get("subject", k)),
                           "frames": sprite.n_frames, "colour": sprite.info.get("subject_colour")})
        manifest = {"format": SET_FORMAT, "format_version": 1, "source": source or {},
                    "sprites": listed, "folders": [item["folder"] for item in listed], "files": {}}
        (temp / "manifest.json").write_text(json.dumps(manifest, indent=1, default=float))
        replace_folder(temp, out)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return out


def is_sprite_set(path: str | os.PathLike) -> bool:
    """True when `path` is a saved sprite set (a manifest of the set format, `sprite --all`)."""
    manifest = Path(path) / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text())
        return isinstance(data, dict) and data.get("format") == SET_FORMAT
    except (OSError, ValueError):
        return False


def sprite_set_folders(path: str | os.PathLike) -> list[Path]:
    """The sprite folders a set's manifest lists, in order, each checked to be a name inside the
    set and a sprite folder there (a missing or foreign one is one AnalysisError naming it)."""
    path = Path(path)
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        raise AnalysisError(f"{path}: unreadable sprite-set manifest ({error}); re-run "
                            "`framechain sprite CLIP --all -o FOLDER`") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SET_FORMAT:
        raise AnalysisError(f"{path}: not a sprite set ({SET_FORMAT}); make one with "
                            "`framechain sprite CLIP --all -o FOLDER`")
    names = manifest.get("folders")
    if not isinstance(names, list) or not names or not all(
            isinstance(n, str) and n not in ("", ".", "..") and "/" not in n and "\\" not in n for n in names):
        raise AnalysisError(f"{path}: manifest.json field folders is {names!r}, which is not a list of "
                            "sub-folder names; re-run `framechain sprite CLIP --all -o FOLDER`")
    folders = [path / name for name in names]
    for folder in folders:
        if not is_sprite(folder):
            raise AnalysisError(f"{path}: the set lists {folder.name!r}, which is not a sprite folder there "
                                "(missing or damaged); re-run `framechain sprite CLIP --all -o FOLDER`")
    return folders


def load_sprite_set(path: str | os.PathLike) -> list[tuple[SpriteClip, SpriteControl | None, dict]]:
    """Read a sprite set: one (SpriteClip, SpriteControl or None, manifest) per subject, in the
    set's order (see `load_sprite`; every folder is checked the same way)."""
    return [load_sprite(folder) for folder in sprite_set_folders(path)]


def _load_npz(path: Path, keys) -> dict:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise AnalysisError(f"{path}: missing arrays {missing}; re-run `framechain sprite`")
            arrays = {k: data[k] for k in keys}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        if isinstance(error, AnalysisError):
            raise
        raise AnalysisError(f"{path}: unreadable ({type(error).__name__}); re-run `framechain sprite`") from None
    for a in arrays.values():
        a.setflags(write=False)
    return arrays


def _check_sprite_manifest(path: Path, manifest: dict) -> None:
    """Field by field, what loading relies on (issue 16): a positive finite fps, a frame count,
    file names inside the folder, and a control section that is a dict."""
    import math

    def need(ok: bool, field: str) -> None:
        if not ok:
            raise AnalysisError(f"{path}: manifest.json field {field} is {manifest.get(field)!r}, "
                                "which is not valid; re-run `framechain sprite`")

    fps = manifest.get("fps")
    need(isinstance(fps, (int, float)) and not isinstance(fps, bool) and math.isfinite(fps)
         and 0 < fps <= 10000, "fps")
    frames = manifest.get("frames")
    need(isinstance(frames, int) and not isinstance(frames, bool) and frames >= 1, "frames")
    files = manifest.get("files")
    need(isinstance(files, dict) and "sprite.npz" in files and all(
        isinstance(n, str) and "/" not in n and n not in ("", ".", "..") and isinstance(d, str)
        for n, d in files.items()), "files")
    control = manifest.get("control")
    need(control is None or isinstance(control, dict) and all(
        isinstance(control.get(k), (int, float)) and math.isfinite(control[k])
        for k in ("unit", "median_speed")), "control")


def load_sprite(path: str | os.PathLike) -> tuple[SpriteClip, SpriteControl | None, dict]:
    """Read a sprite folder: (SpriteClip, SpriteControl or None, manifest). Refuses another format,
    an unknown version, or a file whose hash does not match the manifest."""
    path = Path(path)
    manifest_path = path / "manifest.json"
    if not manifest_path.is_file():
        raise AnalysisError(f"{path}: not a sprite folder (no manifest.json); make one with "
                            "`framechain sprite CLIP -o SPRITE`")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as error:
        raise AnalysisError(f"{manifest_path}: unreadable manifest ({error}); re-run `framechain sprite`") from None
    if manifest.get("format") != FORMAT:
        raise AnalysisError(f"{path}: format {manifest.get('format')!r} is not a sprite ({FORMAT})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise AnalysisError(f"{path}: sprite format version {manifest.get('format_version')} is not "
                            f"{FORMAT_VERSION}; re-run `framechain sprite` with this version")
    _check_sprite_manifest(path, manifest)
    for name, digest in manifest.get("files", {}).items():
        file = path / name
        if not file.is_file() or _sha256(file) != digest:
            raise AnalysisError(f"{file}: missing or changed since it was written; re-run `framechain sprite`")
    arrays = _load_npz(path / "sprite.npz", _SPRITE_KEYS)
    try:
        size = arrays["size"]
        if size.shape != () or size.dtype.kind not in "iu":
            raise ClipError(f"sprite frames: size must be one whole number, got shape {size.shape} {size.dtype}")
        from precompute.sprites import SpriteClip, SpriteFrames

        frames = SpriteFrames(arrays["pixels"], arrays["crop_offsets"], arrays["crop_boxes"], int(size))
        sprite = SpriteClip(frames, arrays["velocities"], arrays["positions"], arrays["segments"],
                            arrays["source_frames"], arrays["mirrored"], float(manifest["fps"]),
                            dict(manifest.get("sprite_info") or {}))
    except ClipError as error:
        raise AnalysisError(f"{path / 'sprite.npz'}: {error}; re-run `framechain sprite`") from None
    if sprite.n_frames != manifest["frames"]:
        raise AnalysisError(f"{path}: manifest.json says {manifest['frames']} frames, sprite.npz holds "
                            f"{sprite.n_frames}; re-run `framechain sprite`")
    control = None
    if manifest.get("control") and "control.npz" in manifest.get("files", {}):
        c = _load_npz(path / "control.npz", _CONTROL_KEYS)
        meta = manifest["control"]
        control = SpriteControl(c["link_offsets"], c["link_targets"], c["link_costs"], c["directions"],
                                c["speeds"], c["future_values"], float(meta["unit"]),
                                float(meta["median_speed"]), ControlConfig.from_dict(meta["config"]),
                                dict(meta.get("stats") or {}))
    return sprite, control, manifest

"""Generated bridges: K model-made frames that replace the frames around a jump (issue 6).

A jump i -> j of the chain means "after frame i, show j" (j looks like i + 1). A bridge of K
frames replaces the first K frames after the jump: play shows

    i, g1, ..., gK, j + K        with g_n the model's frame between i + n and j - 1 + n at t = (n - 1/2) / K

so the content keeps its speed (j + K stands where i + K + 1 would) and a path through a bridge
is as long as the path through the bare jump. The endpoints of g_n are the two streams a
crossfade would mix at that frame (what the clip would have shown, i + n, and what it shows
instead, j - 1 + n): alike by construction of the jump, so the model bridges a small
misalignment, as the player's morph does. (Format version 1 bridged i and j + K, frames K + 1
apart in motion: at the real fish's jumps its morph frames were twice as far from any real frame,
median 0.31 against 0.16 natural steps.) The times are the crossfade's own weights of the new
stream (engine.transitions: 1/8, 3/8, 5/8, 7/8 for K = 4), so a bridge is the fade of the same two
streams with the model's frames in place of the blends: the frames sit as near the real ends as
the fade's and the morph's, and the step into j + K is the fade's last 1/8 of the jump, not 1/5.
(Versions 1-2 used t = n / (K + 1): 0.2 .. 0.8, each frame farther from both ends than the
fade's, the bridge judged at a disadvantage against the crossfade and the morph it must beat.)
The bridge frames are made at the model size and upsampled to display size guided by the
endpoints: the endpoints are warped at full size along the (rescaled) flows and the model's
low-resolution correction is added on top, scaled by `model_share(t)` (less of it near the real
ends, where the morph is already near a real frame).

In the chain the generated frames are extra *states* N .. N+G-1 (N real frames, G generated):
the jump link i -> j becomes i -> N + first frame of its bridge (same costs and probability),
each bridge frame links only to the next, and the last to j + K. Every state keeps a way on, so
play never stops.

Saved beside an analysis, in its `bridges/` sub-folder (docs/ARCHITECTURE.md, "Generated
bridges"): manifest.json, bridges.npz (the bridge table and the extended CSR links), frames.u8
(the generated frames, raw (G, H, W, 3) uint8) and the model (model.pt + model.json).
The analysis' own files are not changed, so `load_analysis` is unaffected.

Array functions here take and return numpy arrays; `build_bridges`, `save_bridges` and
`load_bridges` are the I/O edges.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from precompute.errors import AnalysisError, ConfigError
from precompute import generative
from precompute.generative_measures import CHOICES

__all__ = [
    "BridgeConfig",
    "Bridges",
    "BRIDGES_FOLDER",
    "FORMAT",
    "FORMAT_VERSION",
    "select_jumps",
    "bridge_plan",
    "model_share",
    "upsample_guided",
    "bridge_times",
    "bridge_frame",
    "generate_bridge_frames",
    "extend_links",
    "build_bridges",
    "save_bridges",
    "load_bridges",
    "bridges_message",
]

FORMAT = "framechain-bridges"
FORMAT_VERSION = 3  # 3: frames at the fade's times (n - 1/2) / K (bridge_times); 2: at n / (K + 1), with
#   bridge_measures and bridge_choice (issue 13, `--transitions auto`); 1 lacks those. All are read;
#   a bridge's times are the ones its manifest says it was made at (Bridges.times)
READABLE_VERSIONS = (1, 2, 3)
TIMES = "fade"  # the manifest's "times" for bridge_times; bridges without it were made at n / (K + 1)
BRIDGES_FOLDER = "bridges"
MANIFEST = "manifest.json"
ARRAYS = "bridges.npz"
STORE = "frames.u8"


@dataclass(frozen=True)
class BridgeConfig:
    """Which jumps get a generated bridge, and how long it is."""

    frames_per_bridge: int = 4  # K generated frames per jump (about the fade length; 4 hid the campfire's jump)
    links_per_frame: int = 2  # M: the likeliest jumps of each frame get a bridge. More: more variety bridged, more storage
    min_probability: float = 0.02  # jumps less likely than this are left to the crossfade/morph
    loop_jumps: int = 50  # the cheapest loop candidates (export's backward jumps) are bridged too
    max_store_bytes: int = 1 << 30  # cap on the generated frames; the likeliest jumps are kept first

    def __post_init__(self):
        checks = {
            "frames_per_bridge": self.frames_per_bridge >= 1,
            "links_per_frame": self.links_per_frame >= 0,
            "min_probability": 0.0 <= self.min_probability <= 1.0,
            "loop_jumps": self.loop_jumps >= 0,
            "max_store_bytes": self.max_store_bytes > 0,
        }
        bad = {name: getattr(self, name) for name, ok in checks.items() if not ok}
        if bad:
            raise ConfigError(f"BridgeConfig: out of range: {bad} (see the field comments)")


# ----------------------------------------------------------------------------- array functions

def select_jumps(link_offsets: np.ndarray, link_targets: np.ndarray, link_probabilities: np.ndarray,
                 loop_sources: np.ndarray, loop_targets: np.ndarray, *,
                 config: BridgeConfig = BridgeConfig()) -> tuple[np.ndarray, np.ndarray]:
    """The jumps to bridge, likeliest first: (B,) int32 sources and (B,) int32 targets.

    link_offsets (N+1,) int64, link_targets (nnz,) int32, link_probabilities (nnz,) float32: the
    analysis' CSR links; loop_sources, loop_targets (L,) int32: its loop candidates, cheapest
    first. Per frame the `links_per_frame` likeliest jumps (target != source + 1) with probability
    >= min_probability, then the first `loop_jumps` loop candidates; duplicates removed.
    """
    offsets = np.asarray(link_offsets, np.int64)
    targets = np.asarray(link_targets, np.int64)
    probabilities = np.asarray(link_probabilities, np.float64)
    n_frames = len(offsets) - 1
    sources = np.repeat(np.arange(n_frames), np.diff(offsets))  # (nnz,)
    jump = (targets != sources + 1) & (probabilities >= config.min_probability)
    # rank within each row by probability: sort by (source, -probability)
    order = np.lexsort((-probabilities, sources))
    order = order[jump[order]]
    row_start = np.searchsorted(sources[order], sources[order], side="left")
    rank = np.arange(len(order)) - row_start  # (kept,) 0 = likeliest jump of its row
    chosen = order[rank < config.links_per_frame]
    chosen = chosen[np.argsort(-probabilities[chosen], kind="stable")]
    pairs_source = [sources[chosen]]
    pairs_target = [targets[chosen]]
    loops = min(config.loop_jumps, len(loop_sources))
    pairs_source.append(np.asarray(loop_sources[:loops], np.int64))
    pairs_target.append(np.asarray(loop_targets[:loops], np.int64))
    all_sources = np.concatenate(pairs_source)
    all_targets = np.concatenate(pairs_target)
    key = all_sources * (n_frames + 1) + all_targets
    _, first = np.unique(key, return_index=True)
    first = np.sort(first)  # keep the priority order
    return all_sources[first].astype(np.int32), all_targets[first].astype(np.int32)


def bridge_plan(sources: np.ndarray, targets: np.ndarray, *, n_frames: int, frames_per_bridge: int,
                frame_bytes: int, max_store_bytes: int):
    """Lengths and exits of the bridges that fit: returns (sources, targets, exits, offsets).

    A bridge of jump i -> j has K = min(frames_per_bridge, n_frames - 1 - j) frames and exit
    j + K; jumps with K < 1 (landing on the last frame) get none. Bridges are kept in the given
    order until `max_store_bytes` of frames would be exceeded. offsets (B+1,) int64: bridge b's
    frames are [offsets[b], offsets[b+1]) of the generated store.
    """
    sources = np.asarray(sources, np.int64)
    targets = np.asarray(targets, np.int64)
    lengths = np.minimum(frames_per_bridge, n_frames - 1 - targets)
    keep = lengths >= 1
    sources, targets, lengths = sources[keep], targets[keep], lengths[keep]
    total_bytes = np.cumsum(lengths) * frame_bytes
    fit = total_bytes <= max_store_bytes
    sources, targets, lengths = sources[fit], targets[fit], lengths[fit]
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return (sources.astype(np.int32), targets.astype(np.int32), (targets + lengths).astype(np.int32),
            offsets)


def _resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 2) px at one size -> (H, W, 2) px at `size` (vectors scaled with the image)."""
    h, w = flow.shape[:2]
    big_h, big_w = size
    out = cv2.resize(flow, (big_w, big_h), interpolation=cv2.INTER_LINEAR)  # (H, W, 2)
    out[..., 0] *= big_w / w
    out[..., 1] *= big_h / h
    return out


def model_share(times) -> np.ndarray:
    """How much of the model's correction a bridge frame at each t keeps: (K,) 4 t (1 - t), all of
    it in the middle, less toward the real ends (0.44 at the fade's first and last frames, t = 1/8
    and 7/8), where the morph alone is already near a real frame: measured on the fish's bridges
    (80 jumps, a 1-minute diffusion model), the end frames' worst-cell distance to a real frame,
    p95, fell from 0.42 to 0.34 (the morph 0.36), the middle ones unchanged."""
    times = np.asarray(times, np.float64)
    return 4.0 * times * (1.0 - times)


def upsample_guided(generated: np.ndarray, a: np.ndarray, b: np.ndarray, times, flows) -> np.ndarray:
    """Bring model-size frames to the endpoints' size, guided by the endpoints.

    generated (K, h, w, 3) uint8 at the model size; a, b (H, W, 3) uint8 display-size endpoints;
    times (K,); flows (f01, f10) (h, w, 2) float32 at the model size.
    At full size the endpoints are warped to each t along the rescaled flows and blended (the
    detail: the flow morph); the model's difference from that blend, measured at the model size,
    is upsampled and added, scaled by `model_share(t)` (so the frames near the real ends stay near
    the morph). Returns (K, H, W, 3) uint8.
    """
    big = a.shape[:2]
    small = generated.shape[1:3]
    same = tuple(big) == tuple(small)
    f01 = flows[0] if same else _resize_flow(flows[0], big)
    f10 = flows[1] if same else _resize_flow(flows[1], big)
    out = []
    for frame, t, share in zip(generated, np.asarray(times, np.float64), model_share(times)):
        wa, wb, _, _ = generative._morph_parts(a, b, f01, f10, float(t))
        base = (1.0 - t) * wa + t * wb  # (H, W, 3) float32, full-size detail
        base_small = base if same else cv2.resize(base, (small[1], small[0]), interpolation=cv2.INTER_AREA)
        correction = frame.astype(np.float32) - base_small  # (h, w, 3)
        if not same:
            correction = cv2.resize(correction, (big[1], big[0]), interpolation=cv2.INTER_LINEAR)  # (H, W, 3)
        out.append(np.clip(base + np.float32(share) * correction + 0.5, 0, 255).astype(np.uint8))
    return np.stack(out)


def bridge_times(length: int) -> np.ndarray:
    """The times of a bridge's K frames: (K,) float64, t_n = (n - 1/2) / K, n = 1..K: the weights
    of the new stream at the K frames of the crossfade centred on a jump (engine.transitions'
    ramp), so the bridge replaces the fade's blends one for one (0.125, 0.375, 0.625, 0.875 at K = 4)."""
    return (np.arange(1, int(length) + 1) - 0.5) / int(length)


def stream_endpoints(source: int, target: int, length: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """The endpoints of a bridge's frames n = 1..K: (K,) frames i + n (clamped to the clip) and
    (K,) frames j - 1 + n, the streams a crossfade of the jump i -> j mixes."""
    steps = np.arange(1, length + 1)
    return np.minimum(source + steps, n_frames - 1), target - 1 + steps


def bridge_frame(model: generative.GenerativeModel, a: np.ndarray, z: np.ndarray, t: float) -> np.ndarray:
    """One bridge frame between the stream frames a and z (H, W, 3) uint8 at time t, at their size:
    the model's frame at the model size, brought to (H, W) by `upsample_guided` (the morph plus
    model_share(t) of the model's difference from it). (H, W, 3) uint8."""
    a_small, z_small = generative.resize_frames(np.stack([a, z]), model.size)
    flows = generative._flow_pair(a_small, z_small, model.config.flow)
    made = model.interpolate(a_small, z_small, [t], flows=flows)  # (1, h, w, 3)
    return upsample_guided(made, a, z, [t], flows)[0]


def generate_bridge_frames(model: generative.GenerativeModel, frames: np.ndarray, sources: np.ndarray,
                           exits: np.ndarray, offsets: np.ndarray, *, out: np.ndarray | None = None,
                           progress: bool = True) -> np.ndarray:
    """Bridge frames for each (source, exit): (G, H, W, 3) uint8, G = offsets[-1].

    frames (T, H, W, 3) uint8 at display size (the analysis' store); bridge b's frame n goes to
    out[offsets[b] + n - 1], made between the streams i + n and j - 1 + n (`stream_endpoints`,
    j = exit - K) at t = bridge_times(K_b)[n - 1], n = 1..K_b. `out` may be a writable memmap to
    fill in place.
    """
    from tqdm.auto import tqdm

    generative._check_frames(frames)
    count = int(offsets[-1])
    if out is None:
        out = np.empty((count,) + frames.shape[1:], np.uint8)
    for b in tqdm(range(len(sources)), desc="bridges", unit="bridge", disable=not progress,
                  dynamic_ncols=True):
        length = int(offsets[b + 1] - offsets[b])
        times = bridge_times(length)
        outgoing, incoming = stream_endpoints(int(sources[b]), int(exits[b]) - length, length, len(frames))
        for n in range(length):
            out[offsets[b] + n] = bridge_frame(model, np.asarray(frames[outgoing[n]]),
                                               np.asarray(frames[incoming[n]]), float(times[n]))
    return out


MEASURE_CHUNK = 64  # bridges measured together (memory: chunk x K x 4 methods x the measuring size)
MEASURE_WIDTH = 128  # px: every method is drawn at this width (or the clip's) to be measured, twice the
#   measures' 64 px, so that no method is judged at a coarser size than the real frames (a model
#   narrower than 64 px made even a cut look unlike the real frames)


def measure_bridges(frames: np.ndarray, size: tuple[int, int], sources, targets, exits, offsets,
                    generated: np.ndarray, *, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """`--transitions auto`'s stored measures: each bridged jump drawn as a cut, a crossfade (the
    player's two streams), the flow morph and its generated bridge, measured by
    precompute.generative_measures.jump_measures (worst local nearest-real distance, largest
    step), at `size` (MEASURE_WIDTH wide). Returns measures (B, 4, 2) float32 (methods in CHOICES order) and
    the choice (B,) int8 (generative_measures.choose: never a method whose measures are worse)."""
    from tqdm.auto import tqdm

    from precompute import generative_measures

    n_frames = len(frames)
    count = len(sources)
    measured = np.zeros((count, len(CHOICES), 2), np.float32)
    if count == 0:
        return measured, np.zeros(0, np.int8)
    real_small = generative_measures.features(np.asarray(frames))
    lengths = np.diff(offsets)
    order = np.argsort(lengths, kind="stable")  # equal lengths together, so they stack
    chunks = [order[i:i + MEASURE_CHUNK] for i in range(0, count, MEASURE_CHUNK)]
    for chunk in tqdm(chunks, desc="measuring bridges", unit="chunk", disable=not progress, dynamic_ncols=True):
        for k in np.unique(lengths[chunk]):
            group = chunk[lengths[chunk] == k]
            times = bridge_times(k)  # the fade's weights: crossfade and morph as play draws them
            made = {name: [] for name in CHOICES}
            entries = []
            for b in group:
                i, j, e = int(sources[b]), int(targets[b]), int(exits[b])
                small = lambda idx: generative.resize_frames(np.asarray(frames[idx]), size)  # noqa: E731
                a, z = small(np.array([i, e]))
                entries.append(a)
                made["cut"].append(small(np.arange(j, e + 1)))
                outgoing, incoming = stream_endpoints(i, j, k, n_frames)
                out = small(outgoing).astype(np.float32)
                into = small(incoming).astype(np.float32)
                weights = times[:, None, None, None]
                fade = ((1 - weights) * out + weights * into + 0.5).astype(np.uint8)
                made["crossfade"].append(np.concatenate([fade, z[None]]))
                morph = [generative.flow_morph(out[n].astype(np.uint8), into[n].astype(np.uint8), times[n:n + 1])[0]
                         for n in range(k)]  # the player's morph: the two streams, warped
                made["morph"].append(np.concatenate([np.stack(morph), z[None]]))
                bridge = generative.resize_frames(np.asarray(generated[offsets[b]:offsets[b + 1]]), size)
                made["generated"].append(np.concatenate([bridge, z[None]]))
            figures = generative_measures.jump_measures({name: np.stack(v) for name, v in made.items()},
                                                        np.stack(entries), real_small)
            for column, name in enumerate(CHOICES):
                measured[group, column] = figures[name]
    return measured, generative_measures.choose(measured)


def extend_links(link_offsets: np.ndarray, link_targets: np.ndarray, link_visual_costs: np.ndarray,
                 link_future_costs: np.ndarray, link_probabilities: np.ndarray, *, sources: np.ndarray,
                 targets: np.ndarray, exits: np.ndarray, offsets: np.ndarray) -> dict:
    """The chain with bridge states: CSR arrays over N + G states (state N + g = generated frame g).

    Each bridged link i -> j is redirected to i -> N + offsets[b] (its costs and probability
    kept); generated frame g links to g + 1 within its bridge, the last to its exit, each with
    probability 1 and cost 0. Bridges of jumps that are not links (loop candidates) only add
    their states (reachable from export, not from random play). Returns a dict of
    link_offsets (N+G+1,) int64, link_targets int32, link_visual_costs, link_future_costs,
    link_probabilities float32, link_bridges (nnz',) int32: the bridge a link enters, or -1, and
    state_bridges (G,) int32: the bridge of each generated state.
    """
    offsets_in = np.asarray(link_offsets, np.int64)
    n_frames = len(offsets_in) - 1
    new_targets = np.array(link_targets, np.int32)  # a copy: inputs are never modified
    link_sources = np.repeat(np.arange(n_frames, dtype=np.int64), np.diff(offsets_in))
    key = link_sources * (n_frames + 1) + new_targets  # (nnz,) sorted: rows ascend, find by bisection
    order = np.argsort(key, kind="stable")
    wanted = np.asarray(sources, np.int64) * (n_frames + 1) + np.asarray(targets, np.int64)
    where = np.searchsorted(key[order], wanted)
    where = np.minimum(where, len(key) - 1)
    found = key[order][where] == wanted
    link_index = order[where][found]
    entry_states = n_frames + np.asarray(offsets[:-1], np.int64)
    new_targets[link_index] = entry_states[found]
    link_bridges = np.full(len(new_targets), -1, np.int32)
    link_bridges[link_index] = np.flatnonzero(found)

    generated = int(offsets[-1])
    lengths = np.diff(offsets)
    bridge_of = np.repeat(np.arange(len(lengths)), lengths)  # (G,) bridge of each generated frame
    following = n_frames + np.arange(generated, dtype=np.int64) + 1  # (G,) the next generated frame
    last = np.asarray(offsets[1:], np.int64) - 1  # (B,) last frame of each bridge
    following[last] = np.asarray(exits, np.int64)
    return {
        "link_offsets": np.concatenate([offsets_in, offsets_in[-1] + 1 + np.arange(generated, dtype=np.int64)]),
        "link_targets": np.concatenate([new_targets, following.astype(np.int32)]),
        "link_visual_costs": np.concatenate([np.asarray(link_visual_costs, np.float32), np.zeros(generated, np.float32)]),
        "link_future_costs": np.concatenate([np.asarray(link_future_costs, np.float32), np.zeros(generated, np.float32)]),
        "link_probabilities": np.concatenate([np.asarray(link_probabilities, np.float32), np.ones(generated, np.float32)]),
        "link_bridges": np.concatenate([link_bridges, np.full(generated, -1, np.int32)]),
        "state_bridges": bridge_of.astype(np.int32),
    }


# ----------------------------------------------------------------------------- the loaded bridges

@dataclass(frozen=True, eq=False)
class Bridges:
    """Generated bridges of one analysis (what play and export use).

    n_frames   N real frames; states N .. N+G-1 are generated frames
    frames     (G, H, W, 3) uint8 generated frames (memory-mapped when loaded)
    sources, targets, exits  (B,) int32: bridge b replaces jump sources[b] -> targets[b] and
               leads to exits[b] = targets[b] + K_b
    offsets    (B+1,) int64: bridge b's frames are frames[offsets[b]:offsets[b+1]]
    links      the extended CSR (see `extend_links`), over N + G states
    """

    path: Path | None
    n_frames: int
    frames: np.ndarray
    sources: np.ndarray
    targets: np.ndarray
    exits: np.ndarray
    offsets: np.ndarray
    links: dict = field(repr=False)
    manifest: dict = field(default_factory=dict, repr=False)
    measures: np.ndarray | None = field(default=None, repr=False)  # (B, 4, 2) float32 or None (version 1):
    #   per bridge, per method of CHOICES, (worst local nearest-real distance, largest step)
    choice: np.ndarray | None = field(default=None, repr=False)  # (B,) int8 index into CHOICES, or None

    def chosen(self, b: int) -> str:
        """`--transitions auto`'s method for bridge b: "cut", "crossfade", "morph" or "generated"
        (bridges made before the measures were stored: "generated")."""
        return CHOICES[int(self.choice[b])] if self.choice is not None else "generated"

    @property
    def n_bridges(self) -> int:
        return int(len(self.sources))

    @property
    def n_states(self) -> int:
        return self.n_frames + int(self.offsets[-1])

    def is_generated(self, state: int) -> bool:
        return int(state) >= self.n_frames

    def bridge_for(self, source: int, target: int) -> int | None:
        """Index of the bridge of jump source -> target, or None."""
        hits = np.flatnonzero((self.sources == source) & (self.targets == target))
        return int(hits[0]) if hits.size else None

    def describe(self, state: int) -> dict:
        """A generated state as the play log writes it: {"bridge": [i, exit], "step": n, "of": K,
        "store_index": state} (step is 1-based; its t is `times(of)[step - 1]`)."""
        g = int(state) - self.n_frames
        if not (0 <= g < int(self.offsets[-1])):
            raise ConfigError(f"state {state} is not a generated frame (states {self.n_frames}.."
                              f"{self.n_states - 1} are)")
        b = int(np.searchsorted(self.offsets, g, side="right") - 1)
        return {"bridge": [int(self.sources[b]), int(self.exits[b])], "step": g - int(self.offsets[b]) + 1,
                "of": int(self.offsets[b + 1] - self.offsets[b]), "store_index": int(state)}

    def blend_of(self, state: int) -> list[tuple[int, float]]:
        """The play log's `frames` entry for a state: [(state, 1.0)] for a real frame, the blend of
        the endpoints it was made from at its time for a generated one: [(i + n, 1 - t),
        (j - 1 + n, t)] (format version 1 bridges: [(i, 1 - t), (exit, t)])."""
        if not self.is_generated(state):
            return [(int(state), 1.0)]
        info = self.describe(state)
        n, k = info["step"], info["of"]
        t = float(self.times(k)[n - 1])
        i, exit_ = info["bridge"]
        if self.manifest.get("endpoints") != "streams":
            return [(i, 1.0 - t), (exit_, t)]
        outgoing, incoming = stream_endpoints(i, exit_ - k, k, self.n_frames)
        return [(int(outgoing[n - 1]), 1.0 - t), (int(incoming[n - 1]), t)]

    def times(self, length: int) -> np.ndarray:
        """(K,) the times the frames of a K-frame bridge were made at: `bridge_times(K)`, or
        n / (K + 1) for bridges made before format version 3."""
        if self.manifest.get("times") == TIMES:
            return bridge_times(length)
        return np.arange(1, int(length) + 1) / (int(length) + 1)

    def frame(self, state: int) -> np.ndarray:
        """(H, W, 3) uint8 image of a generated state (real frames come from the analysis)."""
        return self.frames[int(state) - self.n_frames]

    def expand_path(self, path, *, cyclic: bool = False, use: np.ndarray | None = None) -> np.ndarray:
        """Put bridges into a path of real frames: (L,) int -> (L,) int32 states, same length.

        Where the path jumps i -> j and a bridge of that jump exists, the K positions after the
        jump (j .. j+K-1, when the path runs on naturally that far) become the bridge's states,
        so the path then reaches j + K on time. With `cyclic`, the wrap (last -> first) counts as
        a jump too (an exported loop). Jumps without a bridge are left as they are, and so are
        those whose bridge b has use[b] False (`use`: (B,) bool, None: every bridge).
        """
        states = np.array(path, np.int32)  # a copy: the input is never modified
        length = len(states)
        real = states.copy()
        steps = range(length if cyclic else length - 1)
        for position in steps:
            i, j = int(real[position]), int(real[(position + 1) % length])
            if j == i + 1:
                continue
            b = self.bridge_for(i, j)
            if b is None or (use is not None and not use[b]):
                continue
            k = int(self.offsets[b + 1] - self.offsets[b])
            run = [(position + 1 + n) % length for n in range(k)]
            if k >= length or any(int(real[p]) != j + n for n, p in enumerate(run)):
                continue  # the path leaves before the bridge ends: keep the bare jump
            for n, p in enumerate(run):
                states[p] = self.n_frames + int(self.offsets[b]) + n
        return states

    def texture_arrays(self) -> dict:
        """Keyword arguments for engine.texture.VideoTexture.from_arrays over the N + G states
        (everything but the frames: pass `np.concatenate([analysis.frames, bridges.frames])`)."""
        return {name: self.links[name] for name in
                ("link_offsets", "link_targets", "link_future_costs", "link_visual_costs")}


def bridges_message(analysis) -> str:
    """What to tell a user asking for generated transitions where none exist."""
    where = getattr(analysis, "path", "the analysis")
    return (f"{where}: no generated bridges (issue 6 model); run `framechain bridges CLIP` "
            "to train one (about 5 minutes on the CPU); using the flow morph instead")


# ----------------------------------------------------------------------------- I/O

from precompute.bundle import sha256_file as _sha256  # noqa: E402  (one hashing helper)


def _analysis_identity(analysis) -> str:
    """What ties the bridges to one analysis: the recorded hash of its analysis.npz."""
    files = (getattr(analysis, "manifest", {}) or {}).get("files", {})
    return str(files.get("analysis.npz", ""))


def build_bridges(analysis, *, config: BridgeConfig = BridgeConfig(),
                  model_config: generative.GenerativeConfig | None = None,
                  model: generative.GenerativeModel | None = None,
                  out: str | os.PathLike | None = None, progress: bool = True) -> Bridges:
    """Train the in-between model on the analysis' frames (unless `model` is given), generate the
    bridges of its jumps and save them to `out` (default: the analysis folder's `bridges/`).

    analysis: a precompute.Analysis (frames (N, H, W, 3) uint8, CSR links, loop candidates).
    Returns the loaded Bridges.
    """
    frames = analysis.frames
    n_frames = int(analysis.n_frames)
    sources, targets = select_jumps(analysis.link_offsets, analysis.link_targets,
                                    analysis.link_probabilities, analysis.loop_sources,
                                    analysis.loop_targets, config=config)
    frame_bytes = int(np.prod(frames.shape[1:]))
    sources, targets, exits, offsets = bridge_plan(
        sources, targets, n_frames=n_frames, frames_per_bridge=config.frames_per_bridge,
        frame_bytes=frame_bytes, max_store_bytes=config.max_store_bytes)
    if model is None:
        model_config = model_config or generative.default_config()
        if model_config.max_gap < config.frames_per_bridge + 1:
            model_config = dataclasses.replace(model_config, max_gap=config.frames_per_bridge + 1)
        model = generative.train_model(np.asarray(frames), config=model_config, progress=progress)
    started = time.perf_counter()
    generated = generate_bridge_frames(model, frames, sources, exits, offsets, progress=progress)
    seconds = time.perf_counter() - started
    measure_size = generative.model_size(frames.shape[1], frames.shape[2], model_width=MEASURE_WIDTH)
    measured, choice = measure_bridges(frames, measure_size, sources, targets, exits, offsets, generated,
                                       progress=progress)
    links = extend_links(analysis.link_offsets, analysis.link_targets, analysis.link_visual_costs,
                         analysis.link_future_costs, analysis.link_probabilities, sources=sources,
                         targets=targets, exits=exits, offsets=offsets)
    target = Path(out) if out is not None else Path(analysis.path) / BRIDGES_FOLDER
    stats = {"bridges": int(len(sources)), "generated_frames": int(offsets[-1]),
             "generate_seconds": round(seconds, 3),
             "ms_per_frame": round(1000 * seconds / max(1, int(offsets[-1])), 3),
             "linked_bridges": int(np.count_nonzero(links["link_bridges"] >= 0)) if links else 0}
    save_bridges(target, analysis=analysis, config=config, model=model, frames=generated,
                 sources=sources, targets=targets, exits=exits, offsets=offsets, links=links,
                 stats=stats, measures=measured, choice=choice)
    return load_bridges(analysis, folder=target)


def save_bridges(folder, *, analysis, config: BridgeConfig, model: generative.GenerativeModel,
                 frames: np.ndarray, sources, targets, exits, offsets, links: dict, stats: dict,
                 measures: np.ndarray | None = None, choice: np.ndarray | None = None) -> Path:
    """Write a bridges folder atomically (a temporary folder beside it, renamed into place)."""
    from precompute.files import replace_folder, temp_folder

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = temp_folder(folder)  # 0755, not mkdtemp's 0700
    try:
        arrays = {"bridge_sources": np.asarray(sources, np.int32), "bridge_targets": np.asarray(targets, np.int32),
                  "bridge_exits": np.asarray(exits, np.int32), "bridge_offsets": np.asarray(offsets, np.int64)}
        if measures is not None:  # `--transitions auto`'s stored measures and per-jump choice
            arrays["bridge_measures"] = np.asarray(measures, np.float32)
            arrays["bridge_choice"] = np.asarray(choice, np.int8)
        arrays.update(links)
        np.savez(temporary / ARRAYS, **arrays)
        np.ascontiguousarray(frames, np.uint8).tofile(temporary / STORE)
        generative.save_model(model, temporary)
        files = {name: _sha256(temporary / name) for name in (ARRAYS, STORE, generative.WEIGHTS_FILE,
                                                             generative.SIDECAR_FILE)}
        shape = (int(offsets[-1]),) + tuple(int(v) for v in analysis.frames.shape[1:])
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "analysis": {"n_frames": int(analysis.n_frames), "analysis_sha256": _analysis_identity(analysis)},
            "config": dataclasses.asdict(config),
            "model": {"config": dataclasses.asdict(model.config), "size": list(model.size), "record": model.record},
            "store": {"file": STORE, "frames": shape[0], "height": shape[1], "width": shape[2]},
            "files": files,
            "stats": stats,
            "endpoints": "streams",  # g_n is made between i + n and j - 1 + n (version 1: i and j + K)
            "times": TIMES,  # g_n is made at bridge_times(K)[n - 1] (versions 1-2: n / (K + 1))
            "choices": list(CHOICES),  # the methods of bridge_measures' second axis and bridge_choice
        }
        (temporary / MANIFEST).write_text(json.dumps(manifest, indent=1))
        replace_folder(temporary, folder)  # an old bridges/ of ours only, never a user's folder
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return folder


def load_bridges(analysis, *, folder: str | os.PathLike | None = None) -> Bridges | None:
    """The bridges saved with an analysis, or None when it has none (then say
    `bridges_message(analysis)` and fall back to the morph).

    Refuses (AnalysisError) an unknown format version, a missing or tampered file, or bridges
    made for another analysis. Frames are memory-mapped, arrays read-only.
    """
    folder = Path(folder) if folder is not None else Path(analysis.path) / BRIDGES_FOLDER
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return None
    redo = "; delete that folder and run `framechain bridges` again"
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as error:
        raise AnalysisError(f"{folder}: {MANIFEST} is unreadable ({error}){redo}") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") not in READABLE_VERSIONS:
        raise AnalysisError(f"{folder}: format {manifest.get('format')!r} version {manifest.get('format_version')!r}, "
                            f"this framechain reads {FORMAT!r} version {FORMAT_VERSION}{redo}")
    for name, digest in manifest.get("files", {}).items():
        if not (folder / name).is_file():
            raise AnalysisError(f"{folder}: {name} is missing{redo}")
        if _sha256(folder / name) != digest:
            raise AnalysisError(f"{folder}: {name} does not match its recorded hash (changed or truncated){redo}")
    identity = manifest.get("analysis", {})
    if identity.get("n_frames") != int(analysis.n_frames) or \
            identity.get("analysis_sha256") != _analysis_identity(analysis):
        raise AnalysisError(f"{folder}: made for another analysis than {getattr(analysis, 'path', '?')}{redo}")
    store = manifest["store"]
    shape = (int(store["frames"]), int(store["height"]), int(store["width"]), 3)
    if shape[0]:
        frames = np.memmap(folder / STORE, dtype=np.uint8, mode="r", shape=shape)
    else:
        frames = np.zeros(shape, np.uint8)
    with np.load(folder / ARRAYS, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    for array in arrays.values():
        array.flags.writeable = False
    links = {k: v for k, v in arrays.items() if not k.startswith("bridge_")}
    return Bridges(path=folder, n_frames=int(analysis.n_frames), frames=frames,
                   sources=arrays["bridge_sources"], targets=arrays["bridge_targets"],
                   exits=arrays["bridge_exits"], offsets=arrays["bridge_offsets"], links=links,
                   manifest=manifest, measures=arrays.get("bridge_measures"),
                   choice=arrays.get("bridge_choice"))

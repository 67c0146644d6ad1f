"""Optimal compound loops (Schödl et al. 2000, section 7 of ../shared/docs/video-textures.md).

A primitive loop is one backward jump i -> j (j <= i): it plays frames j..i, then jumps back to j.
Its length is i - j + 1 frames and its cost the jump's visual cost C[i, j] (RMS units). A compound
loop is a multiset of primitive loops whose frame ranges overlap (their overlap graph is
connected); lengths and costs add. The saved analysis holds the candidates (`loop_sources`,
`loop_targets`, `loop_costs`: backward jumps at local minima of C, cheapest first).

Pipeline, all pure array functions:
  select_primitive_loops  keep the best K candidates by average cost (cost / length)
  loop_table              the dynamic programme: cost[l, k] = cheapest compound loop of length l
                          that uses primitive k, with back pointers. O(L^2 K^2) time, O(L K) space
  compound_loop           read one loop out of the table (a count per primitive)
  schedule_loop           turn the multiset into a playable frame order of exactly l frames
  find_loop               all of the above for a length range; returns a `Loop`
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from precompute.errors import ConfigError

__all__ = ["LoopConfig", "PrimitiveLoops", "LoopTable", "Loop", "select_primitive_loops",
           "loop_table", "compound_loop", "schedule_loop", "is_playable", "find_loop",
           "best_loops_by_length"]


@dataclass(frozen=True, kw_only=True)
class LoopConfig:
    """How compound loops are searched."""

    max_primitives: int = 20  # K: primitive loops kept, best by average cost (the paper's ~20).
    #   More can find cheaper loops; the search time grows as K^2.
    min_primitive_length: int = 2  # shortest primitive loop kept, frames. 1 would allow i -> i,
    #   a freeze frame; raise it to forbid short back-and-forth stutters.
    length_tolerance: float = 0.10  # a loop "of S seconds" may be this fraction shorter or longer;
    #   wider finds cheaper loops further from the asked length.

    def __post_init__(self):
        if self.max_primitives < 1:
            raise ConfigError(f"max_primitives must be >= 1, got {self.max_primitives}")
        if self.min_primitive_length < 1:
            raise ConfigError(f"min_primitive_length must be >= 1, got {self.min_primitive_length}")
        if not 0.0 <= self.length_tolerance < 1.0:
            raise ConfigError(f"length_tolerance must be in [0, 1), got {self.length_tolerance}")


@dataclass(frozen=True)
class PrimitiveLoops:
    """K primitive loops, best average cost first. All arrays are (K,)."""

    sources: np.ndarray  # int32, i: the last frame played before jumping back
    targets: np.ndarray  # int32, j <= i: where the jump lands (the loop's first frame)
    costs: np.ndarray  # float64, C[i, j] in RMS units
    lengths: np.ndarray  # int64, i - j + 1 frames

    def __len__(self) -> int:
        return int(self.sources.shape[0])


@dataclass(frozen=True)
class LoopTable:
    """The dynamic programme's result for lengths 0..L and K primitives.

    `cost[l, k]` (L+1, K) float64: cheapest compound loop of exactly l frames that uses primitive
    k (inf where none). Back pointers (L+1, K) int32: `split_length[l, k] == 0` means primitive k
    alone; otherwise the loop is the table's (split_length, k) loop plus its
    (l - split_length, split_column) loop, whose primitives overlap k.
    """

    primitives: PrimitiveLoops
    cost: np.ndarray
    split_length: np.ndarray
    split_column: np.ndarray

    @property
    def max_length(self) -> int:
        return int(self.cost.shape[0] - 1)


@dataclass(frozen=True)
class Loop:
    """One compound loop, ready to play: `frames[t]` (length,) int32 flows into `frames[t+1]`
    by a natural step or one of `jumps`, and `frames[-1]` flows into `frames[0]` the same way."""

    frames: np.ndarray  # (length,) int32 source frame indices, in play order
    cost: float  # sum of the jump costs, RMS units
    jumps: tuple  # ((i, j), ...) each jump once per use, in play order (the wrap's included)
    counts: np.ndarray  # (K,) int64 uses of each primitive loop
    primitives: PrimitiveLoops

    @property
    def length(self) -> int:
        return int(self.frames.shape[0])


def _check_candidates(sources, targets, costs):
    sources = np.asarray(sources)
    targets = np.asarray(targets)
    costs = np.asarray(costs)
    if sources.ndim != 1 or sources.shape != targets.shape or sources.shape != costs.shape:
        raise ValueError(f"loop sources, targets and costs must be equal-length 1-D arrays, got "
                         f"{sources.shape}, {targets.shape}, {costs.shape}")
    if sources.size and not (np.issubdtype(sources.dtype, np.integer)
                             and np.issubdtype(targets.dtype, np.integer)):
        raise ValueError(f"loop sources and targets must be integer frame indices, got "
                         f"{sources.dtype}, {targets.dtype}")
    if np.any(targets > sources) or np.any(targets < 0):
        bad = int(np.flatnonzero((targets > sources) | (targets < 0))[0])
        raise ValueError(f"loop candidate {bad} is not a backward jump: {sources[bad]} -> "
                         f"{targets[bad]} (need 0 <= target <= source)")
    if np.any(~np.isfinite(costs)) or np.any(costs < 0):
        raise ValueError("loop costs must be finite and >= 0")
    return sources.astype(np.int64), targets.astype(np.int64), costs.astype(np.float64)


def select_primitive_loops(sources, targets, costs, *, max_primitives: int = 20,
                           min_length: int = 2, max_length: int | None = None) -> PrimitiveLoops:
    """The best `max_primitives` backward jumps by average cost (cost / length).

    sources, targets: (M,) int frame indices with targets <= sources; costs: (M,) C[i, j] >= 0.
    Loops shorter than `min_length` or longer than `max_length` frames (they could never fit
    a compound loop of at most that length) are skipped first. Duplicate jumps are kept once.
    Ties go to the shorter loop (more lengths can be combined), then to the earlier source.
    """
    sources, targets, costs = _check_candidates(sources, targets, costs)
    lengths = sources - targets + 1
    keep = lengths >= min_length
    if max_length is not None:
        keep &= lengths <= max_length
    sources, targets, costs, lengths = sources[keep], targets[keep], costs[keep], lengths[keep]
    if sources.size:
        _, first = np.unique(np.stack([sources, targets], axis=1), axis=0, return_index=True)
        first = np.sort(first)
        sources, targets, costs, lengths = sources[first], targets[first], costs[first], lengths[first]
    order = np.lexsort((sources, lengths, costs / lengths))[:max_primitives]
    return PrimitiveLoops(sources[order].astype(np.int32), targets[order].astype(np.int32),
                          costs[order], lengths[order])


def _overlaps(primitives: PrimitiveLoops) -> np.ndarray:
    """(K, K) bool: the frame ranges [j, i] of two primitive loops share a frame."""
    lo = np.maximum(primitives.targets[:, None], primitives.targets[None, :])
    hi = np.minimum(primitives.sources[:, None], primitives.sources[None, :])
    return lo <= hi


def _loop_table_python(lengths, costs, overlap, max_length, stop):
    # stop: (1,) uint8 that another thread sets to end the search early (Ctrl-C)
    k_count = lengths.shape[0]
    table = np.full((max_length + 1, k_count), np.inf)
    split_length = np.zeros((max_length + 1, k_count), np.int32)
    split_column = np.full((max_length + 1, k_count), -1, np.int32)
    for k in range(k_count):
        if lengths[k] <= max_length:
            table[lengths[k], k] = costs[k]
    for total in range(1, max_length + 1):
        if stop[0]:
            break
        for k in range(k_count):
            best = table[total, k]
            best_length, best_column = 0, -1
            for other in range(k_count):
                if not overlap[k, other]:
                    continue
                for part in range(lengths[k], total - lengths[other] + 1):
                    candidate = table[part, k] + table[total - part, other]
                    if candidate < best:
                        best, best_length, best_column = candidate, part, other
            table[total, k] = best
            split_length[total, k] = best_length
            split_column[total, k] = best_column
    return table, split_length, split_column


try:
    import numba

    _loop_table_kernel = numba.njit(cache=True, nogil=True)(_loop_table_python)
except ImportError:  # numba is a dependency; this keeps the module importable without it
    _loop_table_kernel = _loop_table_python


def loop_table(primitives: PrimitiveLoops, max_length: int) -> LoopTable:
    """The dynamic programme over compound-loop lengths 1..max_length (L) and K primitives.

    cost[l, k] = min(cost of primitive k if its length is l,
                     min over k' overlapping k and l': cost[l', k] + cost[l - l', k']).
    Exact: any connected multiset containing k splits, at an edge k - k' of a spanning tree of
    its overlap graph, into a connected part holding k and one holding k'. O(L^2 K^2) time.
    """
    if max_length < 1:
        raise ValueError(f"max_length must be >= 1 frame, got {max_length}")
    lengths = np.ascontiguousarray(primitives.lengths, dtype=np.int64)
    costs = np.ascontiguousarray(primitives.costs, dtype=np.float64)
    overlap = np.ascontiguousarray(_overlaps(primitives))
    table, split_length, split_column = _interruptible(_loop_table_kernel, lengths, costs, overlap,
                                                       int(max_length))
    return LoopTable(primitives, table, split_length, split_column)


def _interruptible(kernel, *args):
    """Run a long numba kernel (compiled nogil, taking a trailing `stop` flag) on a worker thread,
    so that Ctrl-C in the main thread is seen within 50 ms: it sets the flag, the kernel returns
    at its next row, and KeyboardInterrupt goes on. A kernel running in the main thread would
    hold off the signal until it finished (minutes for a long loop)."""
    import threading

    stop = np.zeros(1, np.uint8)
    outcome = {}

    def work():
        try:
            outcome["value"] = kernel(*args, stop)
        except BaseException as error:  # raised again in the calling thread
            outcome["error"] = error

    thread = threading.Thread(target=work, name="framechain-loop-search", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.05)
    except KeyboardInterrupt:
        stop[0] = 1
        thread.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def compound_loop(table: LoopTable, length: int, column: int | None = None) -> np.ndarray:
    """The uses of each primitive, (K,) int64, in the cheapest loop of `length` frames
    (restricted to loops using primitive `column` if given). Raises ValueError if none exists."""
    if not 1 <= length <= table.max_length:
        raise ValueError(f"length must be in 1..{table.max_length}, got {length}")
    if column is None:
        column = int(np.argmin(table.cost[length]))
    if not np.isfinite(table.cost[length, column]):
        raise ValueError(f"no compound loop of {length} frames uses primitive loop {column}")
    counts = np.zeros(len(table.primitives), np.int64)
    stack = [(int(length), int(column))]
    while stack:
        total, k = stack.pop()
        part = int(table.split_length[total, k])
        if part == 0:
            counts[k] += 1
        else:
            stack.append((part, k))
            stack.append((total - part, int(table.split_column[total, k])))
    return counts


def schedule_loop(sources, targets, counts, *, start: int | None = None) -> np.ndarray:
    """A playable order for a multiset of primitive loops: (length,) int32 frame indices.

    sources, targets: (K,) the primitive loops i -> j; counts: (K,) uses of each (their frame
    ranges must form one connected overlap graph). The result has exactly sum(counts * (i - j + 1))
    frames; each step, the wrap from the last frame to the first included, is a natural step
    f -> f + 1 or one of the jumps, each jump used exactly `counts` times.

    Section 7's schedule ("first the jump that starts latest, then inside the range holding its
    destination, then the other ranges") is an Euler circuit of the graph whose edges are the
    jumps and the natural steps each loop plays; this builds that circuit directly (Hierholzer),
    which is guaranteed to use every jump, starting at the destination of the latest jump.
    """
    sources = np.asarray(sources, np.int64)
    targets = np.asarray(targets, np.int64)
    counts = np.asarray(counts, np.int64)
    used = counts > 0
    if not np.any(used):
        raise ValueError("schedule_loop needs at least one primitive loop (all counts are 0)")
    sources, targets, counts = sources[used], targets[used], counts[used]
    low = int(targets.min())
    high = int(sources.max())
    span = high - low + 1
    # natural steps f -> f+1 played: one per use of each loop covering both f and f+1
    delta = np.zeros(span + 1, np.int64)
    np.add.at(delta, targets - low, counts)
    np.add.at(delta, sources - low, -counts)  # the loop's last step is f = source - 1
    natural_left = np.cumsum(delta)[:span]  # (span,) uses of step low+f -> low+f+1
    order = np.argsort(targets, kind="stable")  # jumps leaving each frame, fixed order
    jumps_left: dict[int, list[int]] = {}
    for k in order:
        jumps_left.setdefault(int(sources[k]) - low, []).extend([int(targets[k]) - low] * int(counts[k]))
    total_edges = int(np.sum(counts * (sources - targets + 1)))
    if start is None:
        start = int(targets[np.argmax(sources)])
    if not low <= start <= high:
        raise ValueError(f"start frame {start} is outside the loop's frames {low}..{high}")
    stack = [start - low]
    circuit: list[int] = []
    while stack:  # iterative Hierholzer over at most `total_edges` edges
        frame = stack[-1]
        out = jumps_left.get(frame)
        if out:
            stack.append(out.pop())
        elif natural_left[frame] > 0:
            natural_left[frame] -= 1
            stack.append(frame + 1)
        else:
            circuit.append(stack.pop())
    if len(circuit) != total_edges + 1:
        raise ValueError("the primitive loops' frame ranges do not overlap into one compound loop")
    frames = np.asarray(circuit[::-1][:-1], np.int64) + low  # drop the closing repeat of start
    return frames.astype(np.int32)


def is_playable(frames, sources, targets) -> bool:
    """True if every step of the cyclic sequence `frames` (wrap included) is a natural step or
    one of the jumps sources[k] -> targets[k]."""
    frames = np.asarray(frames, np.int64)
    following = np.roll(frames, -1)
    natural = following == frames + 1
    allowed = set(zip(np.asarray(sources).tolist(), np.asarray(targets).tolist()))
    return all(natural[t] or (int(frames[t]), int(following[t])) in allowed
               for t in np.flatnonzero(~natural))


def _loop_from_counts(primitives: PrimitiveLoops, counts: np.ndarray) -> Loop:
    frames = schedule_loop(primitives.sources, primitives.targets, counts)
    following = np.roll(frames, -1)
    where = np.flatnonzero(following != frames.astype(np.int64) + 1)
    jumps = tuple((int(frames[t]), int(following[t])) for t in where)
    cost = float(np.sum(counts * primitives.costs))
    return Loop(frames, cost, jumps, counts, primitives)


def best_loops_by_length(table: LoopTable) -> tuple[np.ndarray, np.ndarray]:
    """Cheapest cost per length: (L+1,) float64 costs (inf where none) and (L+1,) int32 column."""
    column = np.argmin(table.cost, axis=1).astype(np.int32)
    return table.cost[np.arange(table.cost.shape[0]), column], column


def _possible_lengths(sources, targets, costs, target_length: int, config: LoopConfig) -> str:
    """A hint for an error: the loop lengths nearest the asked one that do exist."""
    primitives = select_primitive_loops(sources, targets, costs, max_primitives=config.max_primitives,
                                        min_length=config.min_primitive_length)
    if len(primitives) == 0:
        return f"the clip has no backward jump of {config.min_primitive_length} frames or more"
    table = loop_table(primitives, 2 * target_length + int(primitives.lengths.max()))
    possible = np.flatnonzero(np.isfinite(table.cost.min(axis=1)))
    nearest = possible[np.argsort(np.abs(possible - target_length), kind="stable")[:6]]
    return f"possible lengths nearest {target_length}: {sorted(nearest.tolist())}"


def find_loop(sources, targets, costs, *, target_length: int, config: LoopConfig = LoopConfig(),
              table: LoopTable | None = None) -> Loop:
    """The cheapest compound loop whose length is within `config.length_tolerance` of
    `target_length` frames (ties: the length nearest the target, then the shorter).

    sources, targets, costs: (M,) the analysis' loop candidates (loop_sources, loop_targets,
    loop_costs). Raises ValueError naming the nearest possible lengths if none fits.
    """
    if target_length < 1:
        raise ValueError(f"target_length must be >= 1 frame, got {target_length}")
    low = max(1, int(np.ceil(target_length * (1 - config.length_tolerance) - 1e-9)))
    high = max(low, int(np.floor(target_length * (1 + config.length_tolerance) + 1e-9)))
    if table is None:
        primitives = select_primitive_loops(sources, targets, costs,
                                            max_primitives=config.max_primitives,
                                            min_length=config.min_primitive_length,
                                            max_length=high)
        table = loop_table(primitives, high) if len(primitives) else None
    finite = np.zeros(0, np.int64)
    if table is not None:
        best, column = best_loops_by_length(table)
        lengths = np.arange(low, min(high, table.max_length) + 1)
        finite = lengths[np.isfinite(best[lengths])]
    if finite.size == 0:
        raise ValueError(f"no compound loop of {low}..{high} frames exists "
                         f"({_possible_lengths(sources, targets, costs, target_length, config)})")
    key = np.lexsort((finite, np.abs(finite - target_length), best[finite]))
    length = int(finite[key[0]])
    counts = compound_loop(table, length, int(column[length]))
    return _loop_from_counts(table.primitives, counts)

"""The link graph: from costed candidate transitions to the chain that is saved and played.

One core for the dense and the sparse analysis. Each path only *proposes* candidates, as a CSR
table over frames (the natural step i -> i+1 and the jumps that are local minima of the future
cost F along their row), with their visual costs C and the future values V; everything after
that happens here, once:

1. **acceptable jumps**: visual cost within `max_jump_cost` median natural steps, times the
   tightest factor of RELAX_STEPS at which step 2's class holds `min_playable_share` of the clip
   and a quarter of its frames can jump (jumps beyond 1x pay RELAXED_PENALTY, so they are taken
   only where needed); the crossfade predicted not to show (its steps stay within what the clip's
   own motion shows, see `fade_steps`; never relaxed); no *short cycle*: a backward jump must go
   back at least `min_cycle_share` of what ten seconds of play can show, and no forward jump may
   be followed soon by a way back that closes a cycle of 2/3 of that; no landing where play must
   jump again within the crossfade. A clip that is one whole cycle gets its seam as a candidate;
2. **one closed class**: the playable frames are the largest strongly connected set of the graph
   of natural steps and acceptable jumps; links leaving it are never kept. Frames outside it (a
   tail with no acceptable way back, a second unrelated scene, the lead-in frames that no jump
   lands on) are never entered: play starts at the first playable frame;
3. **pruning**: per frame the natural step, and its acceptable jumps weighed among themselves (a
   softmax of -F / sigma, links below `min_probability` dropped, at most `max_links_per_frame`);
   then, while the kept graph on the class is not strongly connected, every closed part gets its
   cheapest acceptable way out by future cost (one exists: the acceptable graph on the class is
   strongly connected), weighted as its frame's best link (its stored F lowered to the row's
   minimum), so the closed part is left, not only leavable;
4. **rate and spread**: one number b (cost units) is added to the future cost of every jump, set
   so that long-run play jumps `jumps_per_second` (on the chain's stationary distribution, not a
   plain mean over frames: play lingers where jumps are rare); landing costs u[j] (at most
   LANDING_LIMIT sigmas) make landing where long-run play lingers dearer, and a stretch that play
   hardly visits (STARVED_SHARE) gets back the relaxed penalty of its entries; a frame that keeps its
   natural step jumps with at most `max_jump_probability`. A jump the future cost prefers by
   PROTECTED_SIGMAS to its natural step (the way around a dead end) is left as it is;
5. **probabilities**: the softmax of the stored future costs (which include b, u and the caps),
   so the player, recomputing it from them and sigma, reproduces them.

All arrays are CSR over N frames: `offsets` (N+1,) int64, `targets` (nnz,) int, per-link values
(nnz,). Costs are in RMS units (docs/ARCHITECTURE.md).
"""
from __future__ import annotations

import math
import time

import numpy as np

from precompute.lazy_jit import lazy_njit

__all__ = ["select_links", "fade_steps", "check_link_graph", "playable_class", "stationary_mass",
           "short_cycle_frames"]

WINDOW_S = 10.0  # the span over which play should not repeat itself (quality.py's trap window)
PROTECTED_SIGMAS = 3.0  # a jump this many sigmas cheaper (by future cost) than its frame's natural
#   step is a way around a dead end: the rate and spreading adjustments leave it alone
DIRECT_STATIONARY = 5_000  # frames: up to this the stationary distribution is solved exactly
GAUSS_SEIDEL_SWEEPS = 500  # above it, at most this many sweeps in frame order before power steps
#   (_stationary; at 100,000 frames ~200 sweeps of ~1 ms reach the tolerance)
LANDING_LIMIT = 9.0  # sigmas: the largest change of a frame's landing cost that evens out play
STARVED_SHARE = 0.1  # where long-run play visits a stretch less than this share of the even share,
#   the relaxed jumps into it lose their penalty: where only they enter it, it is otherwise a
#   member of the class in name only, played once from the start (the night lights' first 40)
RELAXED_PENALTY = 20.0  # extra cost of a relaxed jump, in cost limits per unit of excess over the
#   limits: such jumps are taken only where no jump within the limits is at hand
JUMPING_SHARE = 0.25  # the cost limit is the tightest at which this share of the class' frames can
#   still jump (and the class holds min_playable_share of the clip)
RELAX_STEPS = (0.25, 0.5, 0.75, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5, 3.0)  # factors on the cost
#   limit, tightest first; the crossfade's step limit is never relaxed (a jump that shows in the
#   motion shows whatever it costs)


def short_cycle_frames(n_frames: int, fps: float, min_cycle_share: float) -> int:
    """The shortest cycle play may take, in frames: `min_cycle_share` of what WINDOW_S of play
    (or the whole clip, if shorter) shows."""
    window = min(n_frames, max(2, round(WINDOW_S * fps)))
    return max(1, math.ceil(min_cycle_share * window))


def _rows(offsets: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))  # (nnz,)


def fade_steps(natural_steps: np.ndarray, sources: np.ndarray, targets: np.ndarray,
               visual: np.ndarray, *, fade_frames: int) -> np.ndarray:
    """(nnz,) predicted largest output step of a crossfaded jump i -> j, in cost units.

    The crossfade of K frames (engine/transitions.py: centred on the jump, the new stream's
    weight w rising by 1/K a frame) shows `(1 - w) a_s + w b_s`, with a the old stream (frame
    i at the jump's left) and b the new (j at its right). Each output step is the two streams'
    own motion, weighted, plus `dw` times the difference between the streams (about the jump's
    visual cost C, the filtered distance of exactly these frame pairs). A good jump joins streams
    that move alike, so their motions add up (the triangle bound (1-w) nat_a + w nat_b, with nat
    the clip's own natural steps there), while the difference between the streams is unrelated to
    the motion and adds in quadrature: step^2 = motion^2 + (dw C)^2. A cut (K <= 1) shows C.
    """
    steps = np.asarray(natural_steps, np.float64)
    n = steps.shape[0] + 1
    src = np.asarray(sources, np.int64)
    dst = np.asarray(targets, np.int64)
    c = np.asarray(visual, np.float64)
    if fade_frames <= 1:
        return c.copy()
    typical = float(np.median(steps)) if steps.size else 0.0

    def natural(frame):  # step frame -> frame + 1, the median beyond the clip's ends
        inside = (frame >= 0) & (frame < n - 1)
        return np.where(inside, steps[np.clip(frame, 0, max(0, n - 2))], typical)

    reach = math.ceil(fade_frames / 2) + 1
    worst = np.zeros(c.shape[0])
    for k in range(-reach, reach):  # the step from position t + k to t + k + 1 (jump after t)
        w_now = min(1.0, max(0.0, (k - 0.5) / fade_frames + 0.5))
        w_next = min(1.0, max(0.0, (k + 0.5) / fade_frames + 0.5))
        if w_now == w_next and w_now in (0.0, 1.0):
            continue  # outside the fade: a natural step of one stream
        motion = (1 - w_next) * natural(src + k) + w_next * natural(dst + k - 1)
        step = np.sqrt(motion ** 2 + ((w_next - w_now) * c) ** 2)
        worst = np.maximum(worst, step)
    return worst


@lazy_njit(cache=True)
def _closes_short_cycle(forward_sources, forward_targets, back_sources, back_targets, min_cycle,
                        out):
    """out[k]: forward jump a -> b (b > a) is followed, within min_cycle frames, by a backward
    jump c -> d (b <= c) that lands at or before a with the whole cycle a -> b .. c -> d .. a
    shorter than min_cycle frames. Backward jumps sorted by source."""
    for k in range(forward_sources.shape[0]):
        a = forward_sources[k]
        b = forward_targets[k]
        lo = np.searchsorted(back_sources, b)
        for e in range(lo, back_sources.shape[0]):
            c = back_sources[e]
            if c - b + 1 >= min_cycle:
                break
            d = back_targets[e]
            if d <= a and (a - d + 1) + (c - b + 1) < min_cycle:
                out[k] = True
                break


def _two_jump_cycles(sources, targets, acceptable, is_jump, min_cycle):
    """(nnz,) bool: the acceptable forward jumps that, with an acceptable backward jump soon after
    their landing, close a cycle shorter than min_cycle frames (for example a skip to the clip's
    last frames, whose cheap way back returns next to where it left: play would circle a few
    frames, in footage that starts and ends on the same still picture)."""
    forward = np.flatnonzero(acceptable & is_jump & (targets > sources))
    backward = np.flatnonzero(acceptable & is_jump & (targets <= sources))
    order = backward[np.argsort(sources[backward], kind="stable")]
    flags = np.zeros(forward.shape[0], np.bool_)
    _closes_short_cycle(sources[forward].astype(np.int64), targets[forward].astype(np.int64),
                        sources[order].astype(np.int64), targets[order].astype(np.int64),
                        int(min_cycle), flags)
    out = np.zeros(sources.shape[0], np.bool_)
    out[forward[flags]] = True
    return out


@lazy_njit(parallel=True, cache=True)
def _prune_rows(offsets, f, allowed, is_natural, sigma, min_probability, max_links, keep):
    """Per row: the natural step (when allowed), and among the allowed jumps a softmax of
    -f / sigma: keep[e] for the `max_links` - 1 most probable whose share among the jumps is at
    least `min_probability` (the best always). Jumps are weighed against each other here, not
    against the natural step: how often a frame jumps at all is the jump bias' business, and a
    rare good jump must stay a link, however rarely taken. A row without a natural step (the
    last frame, or one whose successor is excluded) keeps `max_links` jumps."""
    n = offsets.shape[0] - 1
    for i in numba.prange(n):
        lo = offsets[i]
        hi = offsets[i + 1]
        has_natural = False
        for e in range(lo, hi):
            if allowed[e] and is_natural[e]:
                keep[e] = True
                has_natural = True
        fmin = np.inf
        for e in range(lo, hi):
            if allowed[e] and not is_natural[e] and f[e] < fmin:
                fmin = f[e]
        if fmin == np.inf:
            continue
        count = hi - lo
        w = np.zeros(count, np.float64)
        total = 0.0
        for e in range(lo, hi):
            if allowed[e] and not is_natural[e]:
                w[e - lo] = np.exp(-(f[e] - fmin) / sigma)
                total += w[e - lo]
        order = np.argsort(-w)
        room = max_links - 1 if has_natural else max_links
        kept = 0
        for c in range(count):
            if kept >= max(1, room):
                break
            k = order[c]
            if w[k] <= 0.0:
                break
            if kept == 0 or w[k] / total >= min_probability:
                keep[lo + k] = True
                kept += 1


def _row_reduce(offsets: np.ndarray, values: np.ndarray, ufunc, empty: float) -> np.ndarray:
    """(N,) per-row reduction of (nnz,) CSR values (`ufunc.reduceat`; `empty` for empty rows)."""
    n = len(offsets) - 1
    out = np.full(n, empty, np.float64)
    nonempty = offsets[1:] > offsets[:-1]
    if nonempty.any():
        out[nonempty] = ufunc.reduceat(values, offsets[:-1][nonempty])
    return out


def _softmax(offsets: np.ndarray, f: np.ndarray, keep: np.ndarray, sigma: float) -> np.ndarray:
    """(nnz,) float64 probabilities of the kept links of each row (0 elsewhere), rows sum to 1."""
    counts = np.diff(offsets)
    row_min = _row_reduce(offsets, np.where(keep, f, np.inf), np.minimum, np.inf)
    shift = np.repeat(np.where(np.isfinite(row_min), row_min, 0.0), counts)
    with np.errstate(over="ignore", invalid="ignore"):
        w = np.where(keep, np.exp(-(f - shift) / sigma), 0.0)
    total = np.repeat(_row_reduce(offsets, w, np.add, 0.0), counts)
    return np.where(keep, w / np.where(total > 0, total, 1.0), 0.0)


def _class_structure(offsets, sources, targets, quality, allowed, members, sigma, min_probability,
                     max_links):
    """Which links the class keeps: the pruning on `quality` (future costs and landing costs,
    without the jump bias, the same for all of a frame's jumps), then the trap repair.
    Returns (keep, added) (nnz,) bool."""
    keep = np.zeros(quality.shape[0], np.bool_)
    is_natural = targets == sources + 1
    _prune_rows(offsets, quality, allowed, is_natural, float(sigma), float(min_probability),
                int(max_links), keep)
    added = _repair(len(offsets) - 1, sources, targets, quality, allowed, keep, members)
    return keep, added


def _class_probabilities(offsets, f, keep, added, sigma, cappable=None, jump_cap=1.0):
    """(f as stored, probabilities): a way out added by the repair has its future cost lowered
    to its row's minimum (it weighs as much as the row's best link). A jump made unlikely by the
    jump bias stays a link: the variety control can bring it back.
    cappable: (nnz,) bool, the jumps of rows that also keep their natural step and hold no
    repaired or dead-end jump; where those jump with more than `jump_cap` probability, their
    future costs are raised alike (a row constant) to bring it down to the cap, so that no frame
    plays the same skip every time it is reached."""
    counts = np.diff(offsets)
    if added.any():
        row_min = _row_reduce(offsets, np.where(keep, f, np.inf), np.minimum, np.inf)
        f = np.where(added, np.minimum(f, np.repeat(row_min, counts)), f)
    p = _softmax(offsets, f, keep, sigma)
    if cappable is None or jump_cap >= 1.0:
        return f, p
    jumping = np.minimum(_row_reduce(offsets, np.where(cappable & keep, p, 0.0), np.add, 0.0),
                         1.0 - 1e-12)  # (N,)
    rows_over = jumping > jump_cap
    if not rows_over.any():
        return f, p
    shift = np.zeros_like(jumping)
    shift[rows_over] = sigma * np.log(jumping[rows_over] * (1.0 - jump_cap)
                                      / (jump_cap * (1.0 - jumping[rows_over])))
    f = f + np.where(cappable, np.repeat(shift, counts), 0.0)
    return f, _softmax(offsets, f, keep, sigma)


def _cappable(offsets, sources, targets, keep, added, adjustable):
    """(nnz,) bool: the jumps whose row may have its jump probability capped (see
    _class_probabilities): rows that keep their natural step and hold no repaired way out and no
    dead-end jump (those must stay as strong as they are)."""
    counts = np.diff(offsets)
    is_natural = targets == sources + 1
    has_natural = _row_reduce(offsets, (keep & is_natural).astype(np.float64), np.add, 0.0) > 0
    exempt = _row_reduce(offsets, (keep & (added | (~is_natural & ~adjustable))).astype(np.float64),
                         np.add, 0.0) > 0
    return keep & ~is_natural & np.repeat(has_natural & ~exempt, counts)


def _jump_probability(offsets, sources, is_jump, probabilities):
    """(N,) probability that each frame's next step is a jump."""
    return _row_reduce(offsets, np.where(is_jump, probabilities, 0.0), np.add, 0.0)


def _bias_for_rate(offsets, sources, targets, f, allowed, is_jump, members, sigma,
                   min_probability, max_links, wanted, *, span, adjustable, jump_cap=1.0, rounds=6, steps=14,
                   entry_penalty=None):
    """The jump bias b (cost units, added to every jump's F) at which long-run play jumps
    `wanted` times per frame, and the landing costs u (N,) (added to the F of the jumps that land
    on each frame) that even out where long-run play spends its time.

    b: bisection (the rate falls as b rises) of the plain mean over the class' frames; frames
    that jump often are left quickly, so play lingers where jumps are rare and its rate differs
    from that mean: the mean's target is corrected by the ratio, each round.
    u: where the stationary share of play, smoothed over `span` frames, is above the even share,
    landing there costs more, and less where it is below (sigma x log of the ratio, each round):
    play is spread over the whole clip instead of circling the stretch its best jumps reach.
    Returns (b, u)."""
    spread = f[allowed & np.isfinite(f)]
    bound = 2.0 * float(spread.max() - spread.min()) + 50.0 * sigma if spread.size else 1.0
    n = len(offsets) - 1
    # entry_penalty (N,): the smallest relaxed penalty of the jumps into each frame (0: entered
    # within the limits), given back to starved frames' landing costs
    discount = np.zeros(n) if entry_penalty is None else np.asarray(entry_penalty, np.float64)
    landing = np.zeros(n)
    members_f = members.astype(np.float64)
    span = max(1, min(span, n))
    kernel = np.ones(span) / span


    structure = {}

    def chain(b):  # (f as stored, probabilities) at bias b; the kept links depend on the landing only
        key = landing.tobytes()
        if structure.get("key") != key:
            quality = f + landing[targets] * adjustable
            keep, added = _class_structure(offsets, sources, targets, quality, allowed, members,
                                           sigma, min_probability, max_links)
            structure.update(key=key, links=(keep, added), cappable=_cappable(
                offsets, sources, targets, keep, added, adjustable))
        keep, added = structure["links"]
        return _class_probabilities(offsets, f + (b + landing[targets]) * adjustable, keep, added,
                                    sigma, structure["cappable"], jump_cap)

    def mean_rate(b):
        return float(_jump_probability(offsets, sources, is_jump, chain(b)[1])[members].mean())

    last = {}

    def solve_bias(target):
        lo, hi = -bound, bound  # mean_rate(lo) high, mean_rate(hi) low
        if "bias" in last:  # rounds move the answer a little: bracket it near the last one
            width = max(sigma, bound / 64)
            a, b = last["bias"] - width, last["bias"] + width
            if mean_rate(a) > target > mean_rate(b):
                lo, hi = a, b
        if lo == -bound and mean_rate(lo) <= target:
            return lo
        if hi == bound and mean_rate(hi) >= target:
            return hi
        for _ in range(steps):
            mid = 0.5 * (lo + hi)
            if mean_rate(mid) > target:
                lo = mid
            else:
                hi = mid
        last["bias"] = hi
        return hi

    target, mass = wanted, members_f / members_f.sum()
    for _ in range(rounds):  # the landing costs, on the cheap plain-mean rate
        bias = solve_bias(target)
        p = chain(bias)[1]
        mass = _stationary(offsets, targets, p, members, mass)
        played = float(np.dot(mass, _jump_probability(offsets, sources, is_jump, p)))
        if played > 0:
            target = min(0.95, max(1e-6, target * wanted / played))
        smooth = np.convolve(mass, kernel, mode="same")
        ratio = smooth / max(1e-300, smooth[members].mean())
        # half steps (the shares answer all landings at once), at most LANDING_LIMIT sigmas: a
        # landing made much cheaper than its row's own jumps would draw play into short cycles
        landing = np.clip(landing + 0.7 * sigma * np.log(np.maximum(ratio, 1e-3)),
                          -LANDING_LIMIT * sigma - discount, LANDING_LIMIT * sigma)
        starved = ratio < STARVED_SHARE  # see STARVED_SHARE
        landing[starved] = np.minimum(landing[starved], -discount[starved])
        landing[~members] = 0.0

    state = {"mass": mass}

    def played_rate(b):  # long-run jumps per frame; the stationary search starts warm
        p = chain(b)[1]
        state["mass"] = _stationary(offsets, targets, p, members, state["mass"])
        return float(np.dot(state["mass"], _jump_probability(offsets, sources, is_jump, p)))

    lo, hi = -bound, bound  # played_rate(lo) high, played_rate(hi) low
    bias = solve_bias(target)
    rate = played_rate(bias)
    if abs(rate - wanted) > 0.05 * wanted:  # bisection on the long-run rate itself
        if rate > wanted:
            lo = bias
        else:
            hi = bias
        for _ in range(steps):
            bias = 0.5 * (lo + hi)
            rate = played_rate(bias)
            if abs(rate - wanted) <= 0.05 * wanted:
                break
            if rate > wanted:
                lo = bias
            else:
                hi = bias
    return bias, landing


@lazy_njit(cache=True)
def _gauss_seidel(in_offsets, in_sources, in_probabilities, stay, members, mass, sweeps):
    """In place: `sweeps` Gauss-Seidel sweeps of mass = mass P in frame order over the members
    (in_*: the incoming links of each frame, the transposed chain; stay: P[j, j]), normalised
    after each."""
    n = mass.shape[0]
    for _ in range(sweeps):
        total = 0.0
        for j in range(n):
            if not members[j]:
                continue
            inflow = 0.0
            for k in range(in_offsets[j], in_offsets[j + 1]):
                inflow += mass[in_sources[k]] * in_probabilities[k]
            leave = 1.0 - stay[j]
            if leave > 1e-12:
                mass[j] = (inflow - mass[j] * stay[j]) / leave
            total += mass[j]
        if total <= 0.0:
            return
        for j in range(n):
            mass[j] /= total


def _stationary(offsets, targets, probabilities, members, warm=None, iterations=400,
                tolerance=1e-7):
    """The long-run share of play at each frame, (N,) float64 summing to 1, on `members` (a
    closed class: no link leaves it). Up to DIRECT_STATIONARY frames it is solved exactly
    (pi (I - P) = 0 with sum pi = 1: one sparse LU); above, power iteration of the lazy chain (it
    converges on periodic chains too) from `warm` (a previous answer) or the even share."""
    from scipy.sparse import csr_matrix

    n = len(offsets) - 1
    members = np.asarray(members, np.bool_)
    start = members.astype(np.float64) if warm is None else np.asarray(warm, np.float64)
    chain = csr_matrix((np.asarray(probabilities, np.float64), np.asarray(targets), offsets),
                       shape=(n, n))
    if members.sum() <= DIRECT_STATIONARY:
        from scipy.sparse import identity, vstack
        from scipy.sparse.linalg import splu

        index = np.flatnonzero(members)
        inner = chain[index][:, index]  # (m, m): the class is closed, its rows sum to 1
        m = index.size
        system = (identity(m, format="csr") - inner.T).tocsr()
        system = vstack([system[:-1], csr_matrix(np.ones((1, m)))]).tocsc()  # one equation -> sum 1
        rhs = np.zeros(m)
        rhs[-1] = 1.0
        try:
            solved = splu(system).solve(rhs)
            mass = np.zeros(n)
            mass[index] = np.clip(solved, 0.0, None)
            total = mass.sum()
            if np.isfinite(total) and total > 0:
                return mass / total
        except RuntimeError:  # a singular system (should not happen on a closed class)
            pass
    # links of probability 0 add exact zeros to the products: leaving them out changes no bit
    # and saves much of the work on a sparse analysis' candidates
    chain = chain.copy()  # its arrays may be the caller's
    chain.eliminate_zeros()
    transposed = chain.T.tocsr()
    mass = start / max(1e-300, float(start.sum()))
    # Gauss-Seidel sweeps in frame order first: play moves mostly i -> i + 1, so one sweep carries
    # mass the whole length of the clip, where one power step carries it one frame (at 100,000
    # frames 400 power steps left 12% of the mass misplaced, 200 sweeps 0.1%). Kept only where its
    # residual is below the tolerance; the power iteration goes on from it otherwise.
    swept = mass.copy()
    incoming = (transposed.indptr.astype(np.int64), transposed.indices.astype(np.int64),
                transposed.data.astype(np.float64), chain.diagonal().astype(np.float64))
    for _ in range(0, GAUSS_SEIDEL_SWEEPS, 50):
        _gauss_seidel(*incoming, members, swept, 50)
        total = float(swept.sum())
        if not (np.isfinite(total) and total > 0):
            break
        swept /= total
        if 0.5 * np.abs(transposed @ swept - swept).sum() < tolerance:  # as the power step's
            return swept
    else:
        mass = swept
    for _ in range(iterations):
        new = 0.5 * (mass + transposed @ mass)
        if np.abs(new - mass).sum() < tolerance:
            return new
        mass = new
    return mass


def _components(n: int, sources: np.ndarray, targets: np.ndarray):
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    graph = csr_matrix((np.ones(sources.shape[0], np.int8), (sources, targets)), shape=(n, n))
    return connected_components(graph, directed=True, connection="strong")


def playable_class(n: int, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(N,) bool: the largest strongly connected set of frames of the graph given by its edges
    (ties: the one that starts earliest in the clip)."""
    count, labels = _components(n, np.asarray(sources), np.asarray(targets))
    sizes = np.bincount(labels, minlength=count)
    first = np.full(count, n)
    np.minimum.at(first, labels, np.arange(n))
    best = max(range(count), key=lambda c: (sizes[c], -first[c]))
    return labels == best


def _repair(n, sources, targets, f, acceptable, keep, members):
    """Adds ways out of the closed parts of the kept graph on `members` until it is strongly
    connected: for each closed part, its acceptable link with the lowest future cost into another
    part. Returns the (nnz,) bool of the links it added."""
    added = np.zeros(keep.shape[0], np.bool_)
    inside = members[sources] & members[targets]
    for _ in range(n):
        edges = keep & inside
        count, labels = _components(n, sources[edges], targets[edges])
        labels = np.where(members, labels, -1)
        parts = np.unique(labels[members])
        if parts.size <= 1:
            return added
        leaves = np.zeros(count, np.bool_)  # parts with a kept link into another part
        crossing = edges & (labels[sources] != labels[targets])
        leaves[labels[sources[crossing]]] = True
        closed = [c for c in parts if not leaves[c]]
        way_out = acceptable & inside & (labels[sources] != labels[targets]) & ~keep
        for c in closed:
            options = np.flatnonzero(way_out & (labels[sources] == c))
            if options.size == 0:  # cannot happen on a strongly connected acceptable graph
                raise AssertionError(f"closed part {c} has no acceptable way out")
            best = options[np.argmin(f[options])]
            keep[best] = True
            added[best] = True
    raise AssertionError("trap repair did not converge")


def select_links(offsets: np.ndarray, targets: np.ndarray, visual: np.ndarray, value: np.ndarray,
                 natural_steps: np.ndarray, *, config, sigma: float, median_step: float,
                 fps: float, wrap_cost: float | None = None) -> tuple[dict, np.ndarray, dict]:
    """Candidates -> the saved chain (module docstring).

    offsets (N+1,) int64, targets (nnz,) int, visual (nnz,) float32 C (inf: forbidden), sorted by
    target within each row, with the natural step i -> i+1 among them; value (N,) V;
    natural_steps (N-1,); config an AnalysisConfig; sigma (cost^p units) from sigma_scale;
    median_step (cost units); fps of the clip; wrap_cost: the distance of the last frame to the
    first (RMS units), or None.
    Returns (link arrays as saved, (N,) bool playable, stats).
    """
    offsets = np.array(offsets, np.int64)
    targets = np.asarray(targets, np.int64)
    visual = np.asarray(visual, np.float32)
    cyclic = _is_cyclic(wrap_cost, natural_steps)
    if cyclic and not np.any(targets[offsets[-2]:offsets[-1]] == 0):
        # a clip that is one whole cycle (an exactly looping GIF): its last frame steps to its
        # first as it steps to any next one, a jump the dynamics filter cannot score (no frame
        # follows the last) and that lands on a frame no other jump may land on
        targets = np.insert(targets, offsets[-2], 0)
        visual = np.insert(visual, offsets[-2], np.float32(wrap_cost))
        offsets[-1] += 1
    value = np.asarray(value, np.float64)
    n = offsets.shape[0] - 1
    sources = _rows(offsets)
    alpha, power = float(config.alpha), float(config.power)
    finite = np.isfinite(visual)
    c64 = np.where(finite, visual.astype(np.float64), np.inf)
    f = np.where(finite, (c64 if power == 1.0 else c64 ** power) + alpha * value[targets], np.inf)
    is_natural = targets == sources + 1
    is_jump = ~is_natural

    # 1. acceptable jumps
    steps = np.asarray(natural_steps, np.float64)
    limit_cost = config.max_jump_cost * median_step
    p95_ratio = float(np.percentile(steps, 95) / median_step) if steps.size else 1.0
    fade_limit = (config.max_fade_step if config.max_fade_step > 0 else min(1.5, p95_ratio)) * median_step
    predicted = fade_steps(steps, sources, targets, visual, fade_frames=config.fade_frames)
    if cyclic:  # the seam of a whole cycle shows the clip's own motion there, as play does
        predicted = np.where((sources == n - 1) & (targets == 0), 0.0, predicted)
    window = min(n, max(2, round(WINDOW_S * fps)))
    min_cycle = short_cycle_frames(n, fps, config.min_cycle_share)
    short_cycle = (targets <= sources) & (sources - targets + 1 < min_cycle)
    # a short skip ahead shows nothing new and, where the motion is periodic, lands on the other
    # half of the swing (its filtered cost can be as low as a natural step's): skips ahead must
    # skip at least half the shortest cycle
    min_skip = math.ceil(config.min_skip_share * window)
    short_cycle |= (targets > sources + 1) & (targets - sources - 1 < min_skip)
    calm_rule = np.ones(f.shape[0], np.bool_)
    if config.calm_jump_motion > 0:  # the optional hard rule of earlier versions, on both ends
        from precompute.dynamics import restless_frames

        restless = restless_frames(steps.astype(np.float32), config.calm_jump_motion * median_step)
        calm_rule = ~(restless[sources] | restless[targets])
    started = time.perf_counter()
    # 4a. the playable class: the largest strongly connected set of natural steps and acceptable
    # jumps. Where it would hold less than min_playable_share of the clip (footage whose every
    # jump shows a little), the visibility limits are relaxed step by step, and the factor said
    # how far each jump exceeds the limits (1: within them); a relaxed jump costs the excess
    excess = np.maximum(visual / max(limit_cost, 1e-12), predicted / max(fade_limit, 1e-12))
    for relax in RELAX_STEPS:
        reachable_cost = finite & (visual <= relax * limit_cost) & ~short_cycle
        acceptable = is_natural | (is_jump & reachable_cost & calm_rule
                                   & (predicted <= fade_limit))
        # two-jump cycles: a skip ahead whose way back returns next to where it left
        acceptable &= ~_two_jump_cycles(sources, targets, acceptable, is_jump, (2 * min_cycle + 2) // 3)
        members = playable_class(n, sources[acceptable], targets[acceptable])
        jumping = np.zeros(n, np.bool_)  # class frames with an acceptable jump inside the class
        inner_jumps = acceptable & is_jump & members[sources] & members[targets]
        jumping[sources[inner_jumps]] = True
        if (members.sum() >= config.min_playable_share * n
                and jumping.sum() >= JUMPING_SHARE * members.sum()):
            break
    if members.sum() < max(2.0, 0.5 * config.min_playable_share * n):
        # a clip too short or too restless for any jump within the limits (a few frames of
        # fast motion): every costed jump that closes no short cycle, the cheapest first (the
        # penalty below), rather than no video texture at all; `info` says so
        relax = math.inf
        acceptable = is_natural | (is_jump & finite & ~short_cycle)
        members = playable_class(n, sources[acceptable], targets[acceptable])
    if members.sum() < 2:
        from precompute.errors import AnalysisError

        raise AnalysisError(f"no frame of the clip's {n} can be returned to by any jump that does not "
                            "show; the clip is too short or changes too fast for a video texture")
    # no jump lands where play must jump again within the crossfade (the last frames of the
    # class): two jumps in a row blend three streams and show one jump where the rate counted two
    reach = math.ceil(config.fade_frames / 2) + 1
    for _ in range(2):
        runs = _natural_runs(members, cyclic)
        landing_ok = acceptable & (is_natural | (runs[targets] >= reach)
                                   | ((sources == n - 1) & (targets == 0) & cyclic))
        narrowed = playable_class(n, sources[landing_ok], targets[landing_ok])
        if narrowed.sum() < max(2.0, 0.9 * members.sum()):
            break  # the class would lose more than a tenth: keep it as it is
        acceptable, members = landing_ok, narrowed
    inside = members[sources] & members[targets]
    entry_penalty = np.zeros(n)
    if relax > 1.0:  # the relaxed jumps pay for it, so that they are taken only where needed
        penalty = np.where(is_jump & finite,
                           RELAXED_PENALTY * limit_cost * np.maximum(0.0, excess - 1.0), 0.0)
        f = f + penalty
        entries = acceptable & is_jump & inside  # (and where a stretch is starved: STARVED_SHARE)
        cheapest = np.full(n, np.inf)
        np.minimum.at(cheapest, targets[entries], penalty[entries])
        entry_penalty = np.where(np.isfinite(cheapest), cheapest, 0.0)

    # jumps that the future cost prefers by far to the natural step (the way around a dead end)
    # keep their advantage: neither the jump bias nor the landing costs apply to them
    natural_f = np.full(n, np.inf)
    natural_f[sources[is_natural]] = f[is_natural]
    adjustable = is_jump & ~(f < natural_f[sources] - PROTECTED_SIGMAS * float(sigma))

    # 2. the jump bias for the wanted jump rate, 3. pruning, 4b. trap repair, 5. probabilities
    # (links leaving the class are never kept)
    allowed = acceptable & inside
    wanted = config.jumps_per_second / fps
    class_s = time.perf_counter() - started
    started = time.perf_counter()
    bias, landing = 0.0, np.zeros(n)
    if wanted > 0:
        bias, landing = _bias_for_rate(offsets, sources, targets, f, allowed, is_jump, members,
                                       float(sigma), config.min_probability,
                                       config.max_links_per_frame, min(wanted, 0.5),
                                       span=max(1, round(fps)), adjustable=adjustable,
                                       # long clips: fewer spreading rounds (each solves the
                                       # stationary distribution iteratively)
                                       rounds=6 if n <= DIRECT_STATIONARY else 3,
                                       jump_cap=config.max_jump_probability,
                                       entry_penalty=entry_penalty)
    quality = f + landing[targets] * adjustable
    f = f + (bias + landing[targets]) * adjustable
    rate_s = time.perf_counter() - started
    started = time.perf_counter()
    keep, added = _class_structure(offsets, sources, targets, quality, allowed, members,
                                   float(sigma), config.min_probability, config.max_links_per_frame)
    repair_s = time.perf_counter() - started
    f, probabilities = _class_probabilities(
        offsets, f, keep, added, float(sigma),
        _cappable(offsets, sources, targets, keep, added, adjustable), config.max_jump_probability)
    # frames outside the class keep a way on (the lead-in is played once at the start)
    out_allowed = ~members[sources] & finite & (is_natural | reachable_cost)
    out_keep = np.zeros(f.shape[0], np.bool_)
    _prune_rows(offsets, f, out_allowed, is_natural, float(sigma), float(config.min_probability),
                int(config.max_links_per_frame), out_keep)
    stranded = np.flatnonzero(~members & (np.bincount(sources[out_keep], minlength=n) == 0))
    for i in stranded:  # an excluded frame with no acceptable link keeps its cheapest one
        lo, hi = offsets[i], offsets[i + 1]
        if hi > lo and np.isfinite(f[lo:hi]).any():
            out_keep[lo + int(np.argmin(f[lo:hi]))] = True
    keep |= out_keep
    probabilities = np.where(members[sources], probabilities,
                             _softmax(offsets, f, out_keep, float(sigma)))

    link_sources = sources[keep]
    link_targets = targets[keep]
    link_visual = visual[keep].astype(np.float64)
    link_future = f[keep]
    link_probabilities = probabilities[keep]
    stranded = np.flatnonzero(np.bincount(link_sources, minlength=n) == 0)
    if stranded.size:  # excluded frames with no finite way on at all (never entered): a way to
        # the first playable frame, so that the table stays a chain from every frame
        first = int(np.argmax(members))
        worst = float(np.max(link_visual[np.isfinite(link_visual)], initial=0.0))
        link_sources = np.concatenate([link_sources, stranded])
        link_targets = np.concatenate([link_targets, np.full(stranded.size, first)])
        link_visual = np.concatenate([link_visual, np.full(stranded.size, worst)])
        link_future = np.concatenate([link_future, np.full(stranded.size, worst)])
        link_probabilities = np.concatenate([link_probabilities, np.ones(stranded.size)])
        order = np.lexsort((link_targets, link_sources))
        link_sources, link_targets = link_sources[order], link_targets[order]
        link_visual, link_future = link_visual[order], link_future[order]
        link_probabilities = link_probabilities[order]
    link_offsets = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(link_sources, minlength=n), out=link_offsets[1:])
    link_targets = link_targets.astype(np.int32)
    link_visual = link_visual.astype(np.float32)
    link_future = link_future.astype(np.float32)
    link_probabilities = link_probabilities.astype(np.float32)
    links = {
        "link_offsets": link_offsets,
        "link_targets": link_targets,
        "link_visual_costs": link_visual,
        "link_future_costs": link_future,
        "link_probabilities": link_probabilities,
    }
    started = time.perf_counter()
    check_link_graph(link_offsets, link_targets, link_probabilities, members)
    check_s = time.perf_counter() - started
    mass = _stationary(link_offsets, link_targets, link_probabilities, members)
    link_rows = _rows(link_offsets)
    link_jumps = link_targets != link_rows + 1
    flow = mass[link_rows] * link_probabilities * link_jumps  # (nnz,) jumps taken per frame of play
    # a crossfade's blended frames lie about a quarter of the jump's cost from the nearest real
    # frame (weights 1/8, 3/8, 5/8, 7/8): the median over the jumps play takes, in natural steps
    ghost = 0.25 * _weighted_median(link_visual[link_jumps], flow[link_jumps]) / max(median_step, 1e-12)
    stats = {
        "playable_frames": int(members.sum()),
        "cyclic": bool(cyclic),
        "crossfade_ghost_estimate": float(ghost),
        # the transition the measurement suggests: a crossfade where its double images stay
        # under half a natural step (../shared/tools/quality.py's ghost goal), else the flow morph
        "suggested_transition": "crossfade" if ghost <= 0.5 else "morph",
        "excluded_frames": _ranges(np.flatnonzero(~members)),
        "jump_bias": float(bias),
        "jump_rate_per_s": float(flow.sum()) * float(fps),
        "acceptable_jump_candidates": int((acceptable & is_jump).sum()),
        "repaired_links": int(added.sum()),
        "graph_timings": {"class_s": class_s, "rate_and_spread_s": rate_s,
                          "prune_and_repair_s": repair_s, "check_s": check_s},
        "min_cycle_frames": int(min_cycle),
        "fade_step_limit": float(fade_limit),
        "visibility_relaxed_by": float(relax) if math.isfinite(relax) else None,  # None: unbounded
        "max_second_mass_over_uniform": stationary_mass(link_offsets, link_targets,
                                                        link_probabilities, members,
                                                        max(1, round(fps))),
    }
    return links, members, stats


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    if values.size == 0 or not np.any(weights > 0):
        return 0.0
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def _natural_runs(members: np.ndarray, cyclic: bool) -> np.ndarray:
    """(N,) int: how many natural steps play can take from each frame without leaving `members`
    (counted on past the seam of a cyclic clip, up to N)."""
    n = members.shape[0]
    runs = np.zeros(n, np.int64)
    following = n if cyclic and members[0] else 0  # a cycle's last frame steps on to its first
    for j in range(n - 1, -1, -1):
        if not members[j]:
            following = 0
            runs[j] = 0
            continue
        runs[j] = following
        following = min(n, following + 1)
    return runs


def _is_cyclic(wrap_cost: float | None, natural_steps: np.ndarray) -> bool:
    """The last frame is as near the first as the motion around the seam steps (at most 1.25x
    the larger of the last step and the first, and within the clip's p95 step): the clip is one
    whole cycle (the shared Newton's cradle GIF: 1.44 median steps between 1.28 and 1.84)."""
    steps = np.asarray(natural_steps, np.float64)
    if wrap_cost is None or steps.size < 2 or not math.isfinite(wrap_cost):
        return False
    return wrap_cost <= min(1.25 * max(steps[0], steps[-1]), float(np.percentile(steps, 95)))


def _ranges(frames: np.ndarray) -> list[list[int]]:
    """Sorted frame numbers -> [[first, last], ...] runs, for people to read."""
    if frames.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(frames) != 1)
    starts = np.concatenate([[frames[0]], frames[breaks + 1]])
    ends = np.concatenate([frames[breaks], [frames[-1]]])
    return [[int(a), int(b)] for a, b in zip(starts, ends)]


def stationary_mass(offsets: np.ndarray, targets: np.ndarray, probabilities: np.ndarray,
                    members: np.ndarray, span: int) -> float:
    """The largest share of long-run play that any `span` consecutive frames hold, over the share
    they would hold if play visited every playable frame equally (1: even; a trap: large)."""
    mass = _stationary(offsets, targets, probabilities, members)
    span = max(1, min(span, int(members.sum())))
    sums = np.convolve(mass, np.ones(span), mode="valid")
    return float(sums.max() / (span / max(1, members.sum())))


def check_link_graph(offsets: np.ndarray, targets: np.ndarray, probabilities: np.ndarray,
                     playable: np.ndarray) -> None:
    """Raises AnalysisError unless the saved chain is sound: every row's probabilities sum to 1,
    no link leaves the playable frames, and those frames form one strongly connected set (play
    can reach every playable frame from every other: no trap)."""
    from precompute.errors import AnalysisError

    offsets = np.asarray(offsets, np.int64)
    targets = np.asarray(targets, np.int64)
    playable = np.asarray(playable, np.bool_)
    n = offsets.shape[0] - 1
    if playable.shape != (n,) or not playable.any():
        raise AnalysisError(f"playable must be ({n},) bool with at least one frame; re-analyse")
    sources = _rows(offsets)
    total = np.zeros(n)
    np.add.at(total, sources, np.asarray(probabilities, np.float64))
    if np.any(np.abs(total - 1.0) > 1e-4):
        bad = np.flatnonzero(np.abs(total - 1.0) > 1e-4)
        raise AnalysisError(f"link probabilities of frames {bad[:10].tolist()} do not sum to 1; re-analyse")
    leaving = playable[sources] & ~playable[targets]
    if leaving.any():
        raise AnalysisError(f"links {sources[leaving][:5].tolist()} -> {targets[leaving][:5].tolist()} "
                            "leave the playable frames: play could be trapped; re-analyse")
    inside = playable[sources] & playable[targets]
    count, labels = _components(n, sources[inside], targets[inside])
    if np.unique(labels[playable]).size != 1:
        raise AnalysisError("the playable frames do not form one strongly connected set: play "
                            "could be trapped; re-analyse")

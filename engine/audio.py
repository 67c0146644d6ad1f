"""Sound that follows the chain (issue 18): the clip's audio cut and crossfaded along a path.

Model. Output audio is a sequence of *streams*. A stream k starts at output sample B_k and plays
the clip's sound from source sample src_k on, one source sample per output sample (pitch is
never changed). Output frame n covers output samples [x_n, x_{n+1}) and shows play position p_n;
its *wanted* source sample is s_n, the audio position of p_n (frame i's span is source samples
[round(i * rate / fps), round((i + 1) * rate / fps))). While the stream in force reaches s_n
within half a frame, it simply plays on; otherwise (a jump of the path, the wrap of a loop, a
speed other than 1x, a late frame of a paced player) a new stream starts at B = x_n with
src = s_n. At speed 1 a stream therefore runs from jump to jump: each output frame carries
exactly its source frame's span. At other speeds each frame restarts the stream where its frame
sits (granular time-stretch: pitch kept, tonal sound blurs a little), with the same fades.

Fades. Each stream fades in over `fade` samples centred on its B_k, with the power ramp
P(z) = clip(z / fade + 1/2, 0, 1), and it fades out as the next one fades in: its power weight is
W_k(x) = P(x - B_k) - P(x - B_{k+1}) (the first stream starts at full weight). The weights sum
to 1 at every sample (they telescope). The gains are eased, S(W) = (1 - cos(pi W)) / 2, so a
two-way fade is sin/cos (sqrt(W) would start with an infinite slope, a step). For uncorrelated
sound equal power is right; for coherent sound (the same tone on both sides) the signals add in
amplitude and an equal-power sum swells by up to sqrt 2. So each fade measures the normalised
correlation r_jk of the stream k fading in with each stream j still sounding, over k's fade
(weighted by the fade's cross term, clamped to [0, 1]), and the gains are
g_k = sqrt(S(W_k) T / D), T = sum W (1, less only while fading from or to silence),
D = sum S(W) + 2 sum_{j<k} r_jk sqrt(S(W_j) S(W_k)): the expected power of the sum stays T
(r = 0: sin/cos equal power; r = 1: amplitudes summing to 1, so the same tone on both sides
keeps its level). Each join is measured before it is made (`choose_join`): where a full
equal-power fade would step or dip beyond the two sounds' own (tones of different pitch beat), the
incoming stream slides by up to 5 ms into phase, the gains assume more coherence, or the fade is
shorter (down to a splice where both crest together), whichever renders best; so stream k's fade
has its own length, P_k(z) = clip(z / fade_k + 1/2, 0, 1), and r is the coherence the gains
assume. Jumps closer than the fade overlap into a multi-way crossfade. The boundary B sits
where the picture's transition is centred (`engine.transitions`: between frames t and t+1 at a
jump t -> t+1), so sound and picture cross over together. Beyond the clip's ends a stream reads
the sound mirrored (x -> -x, S-1-x -> S-1+x), which keeps the waveform continuous.

The description of one output frame (what the play log writes, docs/ARCHITECTURE.md) is
`[x_n, [[source_sample, [[offset, weight], ...]] (+ [r]), ...]]`: per stream the source sample at
the frame's first output sample, and its power weight as a piecewise-linear function of the
offset from x_n (points at the frame's ends and at every kink inside it); a stream fading in
over streams listed just before it carries their correlations as a third element
[r with the stream listed 1 before, 2 before, ...] (absent where all are 0). `render_entries` is
the whole rule; an outside check can rebuild the sound from the log and the clip's audio.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from precompute.errors import ConfigError

__all__ = ["AudioConfig", "AudioFollower", "render_entries", "path_audio", "frame_grid",
           "source_sample", "reflect_indices"]


@dataclass(frozen=True, kw_only=True)
class AudioConfig:
    """How sound follows the chain."""

    fade_ms: float = 50.0  # the crossfade at each jump, centred on the picture's cut;
    #   longer hides more for noise-like sound (rain, fire: 100-200), shorter keeps beats crisp.
    #   0 is a 2-sample fade (a cut without a click)
    enabled: bool = True  # False: silent (--no-audio)

    def __post_init__(self):
        if not (math.isfinite(self.fade_ms) and 0 <= self.fade_ms <= 1000):
            raise ConfigError(f"--audio-fade must be in 0..1000 ms, got {self.fade_ms}")


def fade_samples(fade_ms: float, rate: int) -> int:
    """The crossfade length in samples: even (centred on a sample boundary), at least 2."""
    return max(2, 2 * int(round(fade_ms * rate / 2000.0)))


def frame_grid(count: int, *, rate: int, fps: float) -> np.ndarray:
    """(count + 1,) int64 output sample where each output frame starts: round(n * rate / fps)."""
    return np.round(np.arange(count + 1, dtype=np.float64) * (rate / float(fps))).astype(np.int64)


def source_sample(frames, fraction, *, rate: int, fps: float) -> np.ndarray:
    """The source sample at a play position inside clip frame `frames` (+ `fraction` of it)."""
    frames = np.asarray(frames, np.float64)
    start = np.round(frames * (rate / fps))
    end = np.round((frames + 1) * (rate / fps))
    return start + np.asarray(fraction, np.float64) * (end - start)


def reflect_indices(index: np.ndarray, length: int) -> np.ndarray:
    """Mirror indices into 0..length-1 (-1 -> 1, length -> length - 2): sound beyond the clip's
    ends is read backwards from them, so the waveform stays continuous."""
    if length < 2:
        return np.zeros_like(index)
    period = 2 * (length - 1)
    folded = np.mod(index, period)
    return np.where(folded < length, folded, period - folded)


JOIN_SHIFT_MS = 5.0  # how far a jump's incoming sound may slide to meet the outgoing sound
#   (a period of 200 Hz: enough to bring any tone above it into phase); 0.15 frame at 30 fps
SHORTER_FADES = (0.5, 0.25, 0.1, 0.04, 0.02, 0.008, 0.004)  # fractions of the fade tried when
#   the full fade shows: two tones of different pitch beat, so only a fade shorter than a beat
#   joins them in phase (at 50 ms, a 3.1 and a 3.7 kHz tone summed at equal power step 1.26x the
#   higher's largest step; a 15 Hz-apart pair cancels to a third of its level mid-fade); the
#   shortest (0.2 ms at 50 ms) splice two tones far apart in pitch where both crest together
GOOD_JOIN = 1.01  # a join whose largest step and deepest level dip stay within this factor of
#   the two sounds' own (1%: their rounding to whole samples) is good: the full fade is kept if
#   good (most joins of noise-like sound), else the best join, if good or 10% better
LEVEL_MS = 5.0  # the short-time level a dip is measured over (a dropout shorter is not heard)
OTHER_GAINS_MARGIN = 0.02  # gains assuming more than the measured correlation are taken only when
#   they render the join this much better (noise: its measured correlation, ~0, equal power)


@dataclass(frozen=True)
class Join:
    """How a jump's incoming stream joins the outgoing one (`choose_join`)."""

    in_src: float  # the source sample the incoming stream plays at the fade's centre
    half: int  # half the fade's length, samples
    coherence: float  # the correlation its gains assume (stream_gains' r): the measured one,
    #   or higher where that renders the join with a smaller step or dip
    badness: float  # max(largest step / the two sounds' largest, 1 / (level / their power-
    #   weighted level)) of the join as rendered (1: as good as the sounds themselves; nan: not
    #   measured)


def _span(samples: np.ndarray, centre: float, reach: int) -> np.ndarray:
    """(2 reach, C) float64: the sound at source samples centre - reach .. centre + reach - 1,
    mirrored beyond the clip's ends."""
    index = reflect_indices(int(round(centre)) + np.arange(-reach, reach), samples.shape[0])
    return samples[index].astype(np.float64)


def _cross_term(half: int) -> np.ndarray:
    """(2 half,) 2 sqrt(S(P) S(1 - P)) at each sample of a fade: where a sum can swell or cancel."""
    ramp = (np.arange(-half, half) + 0.5) / (2 * half) + 0.5
    return np.sin(np.pi * ramp)


def _weighted_correlation(a: np.ndarray, b: np.ndarray, weight: np.ndarray) -> float:
    norm = math.sqrt(float(np.sum(weight[:, None] * a * a)) * float(np.sum(weight[:, None] * b * b)))
    return float(np.sum(weight[:, None] * a * b)) / norm if norm > 0.0 else 0.0


def _correlate(wide: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """(len(wide) - len(kernel) + 1,) sum_o kernel[o] * wide[o + d] for each d, through the FFT
    (a 2400-sample fade slid over +-240 samples: 0.1 ms against 1.2 ms directly)."""
    count = wide.shape[0] - kernel.shape[0] + 1
    size = 1 << int(wide.shape[0] - 1).bit_length()
    product = np.fft.rfft(wide, size) * np.conj(np.fft.rfft(kernel, size))
    return np.fft.irfft(product, size)[:count]


def _lag_correlations(a: np.ndarray, b_wide: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(L,) the weighted normalised correlation of a (n, C) with b_wide[d: d + n] for each lag d
    (b_wide: (n + L - 1, C))."""
    weighted = weight[:, None] * a
    numerator = sum(_correlate(b_wide[:, c], weighted[:, c]) for c in range(a.shape[1]))
    b_power = _correlate((b_wide ** 2).sum(axis=1), weight)
    a_power = float(np.sum(weighted * a))
    norm = np.sqrt(np.maximum(a_power * b_power, 0.0))
    return np.divide(numerator, norm, out=np.zeros_like(numerator), where=norm > 1e-9 * max(a_power, 1e-30))


def _moving_mean(x: np.ndarray, window: int) -> np.ndarray:
    total = np.concatenate([[0.0], np.cumsum(x)])
    return (total[window:] - total[:-window]) / window


def natural_dip(sound: np.ndarray, window: int) -> float:
    """The lowest short-time level (window samples) of a sound over its median (1: flat, a tone;
    noise dips by itself, 0.7-0.9 over 5 ms)."""
    level = _moving_mean((sound ** 2).mean(axis=1), window)
    median = float(np.median(level))
    return math.sqrt(float(level.min()) / median) if median > 0.0 else 1.0


def join_badness(a: np.ndarray, b: np.ndarray, *, half: int, coherence: float, step_ref: float,
                 window: int, dip_ref: float = 1.0) -> float:
    """The join of a (outgoing) and b (incoming), both (2 reach, C) centred on the fade, rendered
    with a fade of 2 half samples and gains assuming `coherence` (as `stream_gains`): the larger
    of its largest sample step over step_ref (the two sounds' largest) and dip_ref (how low the
    two sounds dip by themselves, `natural_dip`) over its own dip: its lowest short-time level
    (window samples) over the level the two sounds have at the fade's power weights."""
    reach = a.shape[0] // 2
    # the power weight as render_entries makes it: linear between B - half and B + half, at
    # whole samples
    ramp = np.clip(np.arange(-reach, reach) / (2 * half) + 0.5, 0.0, 1.0)
    out_shaped, in_shaped = shaped_power(1.0 - ramp), shaped_power(ramp)
    power = out_shaped + in_shaped + 2.0 * coherence * np.sqrt(out_shaped * in_shaped)
    mixed = np.sqrt(out_shaped / power)[:, None] * a + np.sqrt(in_shaped / power)[:, None] * b
    step = float(np.abs(np.diff(mixed, axis=0)).max()) / step_ref
    level = _moving_mean((mixed ** 2).mean(axis=1), window)
    expected = _moving_mean((1.0 - ramp) * (a ** 2).mean(axis=1) + ramp * (b ** 2).mean(axis=1), window)
    audible = expected > 1e-6 * max(float(expected.max()), 1e-12)
    if not audible.any():
        return step
    lowest = float(np.sqrt(np.min(level[audible] / expected[audible])))
    return max(step, dip_ref / lowest if lowest > 0.0 else math.inf)


def choose_join(samples: np.ndarray, out_src: float, in_src: float, *, rate: int, half: int,
                allowed: tuple[int, int], slide: bool = True, shorter: bool = True) -> Join:
    """How a jump's sound crosses over: measured on the clip's sound, not assumed. The full fade
    (2 half samples) with the incoming sound in place or slid by up to JOIN_SHIFT_MS to where it
    correlates best with the outgoing, and gains assuming the measured correlation or more; if
    even the best of those steps or dips beyond GOOD_JOIN of the two sounds' own (tones of
    different pitch beat), shorter fades too (SHORTER_FADES), taken when 10% better. The fade's
    half length stays within `allowed` (see AudioFollower._join). slide=False: the incoming
    sound stays at in_src; shorter=False: the fade is `half` long (clamped to `allowed`)."""
    low, high = allowed
    shift = int(round(JOIN_SHIFT_MS * rate / 1000.0)) if slide else 0
    window = max(2, int(round(LEVEL_MS * rate / 1000.0)))
    reach = half + window
    a = _span(samples, out_src, reach)  # (2 reach, C)
    b_wide = _span(samples, in_src, reach + shift)  # (2 (reach + shift), C)
    step_ref = max(float(np.abs(np.diff(a, axis=0)).max()),
                   float(np.abs(np.diff(b_wide[shift:shift + 2 * reach], axis=0)).max()))
    dip_ref = min(natural_dip(a, window), natural_dip(b_wide[shift:shift + 2 * reach], window))
    halves = []
    for fraction in (1.0,) + (SHORTER_FADES if shorter else ()):
        candidate = min(max(int(round(half * fraction)), low, 2), high)
        if candidate not in halves:
            halves.append(candidate)
    if step_ref <= 0.0:  # silence on both sides
        return Join(in_src, halves[0], 0.0, 1.0)
    best, best_preferred, full = None, math.inf, None
    for h in halves:
        centre = slice(reach - h, reach + h)
        lags = _lag_correlations(a[centre], b_wide[reach - h:reach + h + 2 * shift], _cross_term(h))
        # outside the fade the join is one sound or the other, whose steps and level are their
        # own: only the fade and a level window either side are rendered
        around = slice(reach - h - window, reach + h + window)
        slid = int(np.argmax(lags)) - shift
        # the full fade: in place or slid, gains from the measured r to fully coherent; a
        # shorter one is there to splice where the two meet: slid, with the measured or full
        full_length = full is None
        for d in sorted({0, slid}) if full_length else (slid,):
            r = min(1.0, max(0.0, float(lags[d + shift])))
            b = b_wide[shift + d:shift + d + 2 * reach]
            for coherence in sorted({r, 0.5 * (1.0 + r), 1.0} if full_length else {r, 1.0}):
                badness = join_badness(a[around], b[around], half=h, coherence=coherence,
                                       step_ref=step_ref, window=window, dip_ref=dip_ref)
                # gains other than the measured correlation's must be clearly better
                preferred = badness * (1.0 if coherence == r else 1.0 + OTHER_GAINS_MARGIN)
                if best is None or preferred < best_preferred:
                    best, best_preferred = Join(float(in_src + d), int(h), coherence, badness), preferred
        if full is None:
            full = best
            if full.badness <= GOOD_JOIN:
                return full
    return best if best.badness <= max(GOOD_JOIN, 0.9 * full.badness) else full


class AudioFollower:
    """Streams and fades decided frame by frame (see the module docstring).

    `feed(x, s)` gives output frame n's first output sample and wanted source sample, in order;
    `describe(n)` returns frame n's description once the frames whose fades can reach into it
    have been fed (`lookahead` frames after it; `end` closes the timeline instead).
    """

    def __init__(self, *, rate: int, fps_out: float, fade: int, tolerance: float | None = None,
                 ramp_in: bool = False, samples: np.ndarray | None = None, adaptive: bool = True):
        self.rate = int(rate)
        self.adaptive = bool(adaptive)  # joins measured (`choose_join`); False: every fade full
        #   length and in place, its gains from the measured correlation
        self.samples = samples  # the clip's sound (S, C), to measure each fade's correlation;
        #   None: every r is 0 (equal-power)
        self.ramp_in = bool(ramp_in)  # the first stream fades in from silence (a player starting
        #   or resuming) instead of starting at full level (an export: a loop must not dip)
        self.fade = int(fade)
        self.half = self.fade // 2
        self.frame_samples = self.rate / float(fps_out)
        # a stream that is off by less than this is left to play on (half a frame): the player's
        # late frames are absorbed, speed 1 runs whole segments
        self.tolerance = 0.5 * self.frame_samples if tolerance is None else float(tolerance)
        self.lookahead = int(math.ceil(self.half / self.frame_samples))
        self._starts: list[int] = []  # the output sample of each frame fed
        self._base = 0  # frame index of self._starts[0]
        self._streams: list[tuple] = []  # (B, src at B, fades in, coherence with the streams
        #   1, 2, ... before it that still sound over its fade, half the fade's length in samples,
        #   the src at B before the join slid it)
        self._end: int | None = None
        self._made: dict = {}  # joins made, by what they were made from

    @property
    def fed(self) -> int:
        return self._base + len(self._starts)

    def feed(self, x: int, s: float, forced: "Join | None" = None) -> "Join | None":
        """Output frame n starts at output sample x and wants source sample s. Returns the join
        made if a new stream starts here (a jump). forced: the join to make if one is made (its
        source sample and fade length; the gains are chosen afresh), so that a loop repeats."""
        x = int(x)
        join = None
        if self._streams:
            b, src, _, _, _, nominal = self._streams[-1]
            if abs(nominal + (x - b) - s) <= self.tolerance:  # (the join's slide not counted:
                self._starts.append(x)  # when a stream restarts does not depend on it)
                return None
            join = self._join(src + (x - b), float(round(s)), gap=x - b,
                              previous_half=self._streams[-1][4], forced=forced)
            start, half = join.in_src, join.half
            correlations = [join.coherence]  # with the latest stream, then older ones still sounding
            for j in range(len(self._streams) - 2, -1, -1):
                later_b, later_half = self._streams[j + 1][0], self._streams[j + 1][4]
                if later_b + later_half <= x - half:
                    break  # stream j has faded out before this fade begins (and all before it)
                b_j, src_j = self._streams[j][:2]
                correlations.append(self._correlation(src_j + (x - b_j), start, half))
            self._streams.append((x, start, True, tuple(correlations), half, float(round(s))))
        elif self.ramp_in:  # P(x' - B) rises from 0 at x to 1 at x + fade; plays s at x
            src = float(round(s)) + self.half
            self._streams.append((x + self.half, src, True, (), self.half, src))
        else:
            self._streams.append((x, float(round(s)), False, (), self.half, float(round(s))))
        self._starts.append(x)
        return join

    def _join(self, out_src: float, in_src: float, *, gap: int, previous_half: int,
              forced: "Join | None" = None) -> "Join":
        """How the stream starting now joins the one in force (`choose_join`). A fade may not
        start before the previous one starts nor end before it ends, so that the power weights
        W_k = P_k - P_{k+1} (linear ramps) stay >= 0. Without the clip's sound: the full fade,
        in place, equal power."""
        allowed = (max(1, previous_half - gap), gap + previous_half)
        if self.samples is None or self.fade < 4 or not self.adaptive:
            half = min(max(self.half, allowed[0]), allowed[1])
            return Join(in_src, half, self._correlation(out_src, in_src, half), float("nan"))
        key = (round(out_src), in_src, allowed, forced)
        join = self._made.get(key)
        if join is None:  # (a loop's copies make the same joins again: made once)
            if forced is not None:
                join = choose_join(self.samples, out_src, forced.in_src, rate=self.rate,
                                   half=forced.half, allowed=allowed, slide=False, shorter=False)
            else:
                join = choose_join(self.samples, out_src, in_src, rate=self.rate, half=self.half,
                                   allowed=allowed)
            if len(self._made) > 4096:  # an endless player: memory stays flat
                self._made.clear()
            self._made[key] = join
        return join

    def _correlation(self, out_src: float, in_src: float, half: int) -> float:
        """r in [0, 1]: the normalised correlation of a stream fading out (at source sample
        out_src at the fade's centre) and one fading in (at in_src) over a fade of 2 half
        samples, weighted by the fade's cross term, where their sum can overshoot."""
        if self.samples is None or half < 2:
            return 0.0
        a = _span(self.samples, out_src, half)
        b = _span(self.samples, in_src, half)
        return max(0.0, _weighted_correlation(a, b, _cross_term(half)))

    def fade_out(self, x: int, count: int) -> list:
        """The description of a frame at x that ends the sound (a pause): the stream in force
        plays on, fading out over the fade (or the frame), then silence."""
        if not self._streams:
            return [int(x), []]
        b, src = self._streams[-1][:2]
        end = max(1, min(self.fade, count))
        return [int(x), [[src + (x - b), [[0, 1.0], [end, 0.0]] + ([[count, 0.0]] if count > end else [])]]]

    def end(self, x: int) -> None:
        """The timeline ends at output sample x (no frame follows the last fed)."""
        self._end = int(x)

    def ready(self, n: int) -> bool:
        return n + 1 + self.lookahead < self.fed or (self._end is not None and n < self.fed)

    @staticmethod
    def _ramp(z: float, half: int) -> float:
        """P(z) = clip(z / (2 half) + 1/2, 0, 1): the power ramp of a stream fading in at z = 0
        over 2 half samples."""
        return min(1.0, max(0.0, z / (2 * half) + 0.5))

    def describe(self, n: int) -> list:
        """[x_n, [[src, [[offset, weight], ...]], ...]] for output frame n (see module docstring)."""
        if not self.ready(n):
            raise ValueError(f"frame {n} needs {self.lookahead} later frames fed first")
        a = self._starts[n - self._base]
        b = self._starts[n + 1 - self._base] if n + 1 < self.fed else self._end
        streams = self._streams
        entries = []
        listed = []  # the index of each stream listed
        for k, (start, src, fades_in, correlations, half, _) in enumerate(streams):
            following = streams[k + 1][0] if k + 1 < len(streams) else None
            following_half = streams[k + 1][4] if k + 1 < len(streams) else 0
            if fades_in and start - half >= b:
                break  # (a later stream's fade starts no earlier: `_join`)
            if following is not None and following + following_half <= a:
                continue
            points = {a, b}
            for kink in ((start - half, start + half) if fades_in else ()) + \
                    ((following - following_half, following + following_half)
                     if following is not None else ()):
                if a < kink < b:
                    points.add(kink)
            xs = sorted(points)  # a few points: plain floats beat numpy here
            weight = [self._ramp(x - start, half) if fades_in else 1.0 for x in xs]
            if following is not None:
                weight = [w - self._ramp(x - following, following_half) for x, w in zip(xs, weight)]
            if max(weight) <= 1e-12:
                continue
            entry = [src + (a - start), [[int(x - a), float(w)] for x, w in zip(xs, weight)]]
            shared = []  # r with the streams listed 1, 2, ... before (those are k - 1, k - 2, ...)
            for m, r in enumerate(correlations, 1):
                if len(listed) < m or listed[-m] != k - m:
                    break
                shared.append(float(r))
            while shared and shared[-1] <= 0.0:
                shared.pop()
            if shared:
                entry.append(shared)
            entries.append(entry)
            listed.append(k)
        self._forget(n, a)
        return [int(a), entries]

    def _forget(self, n: int, a: int) -> None:
        """Drop what frames after n cannot need: streams faded out before a, older frame starts
        (so that an endless player's memory stays flat)."""
        while len(self._streams) > 1 and self._streams[1][0] + self._streams[1][4] <= a:
            self._streams.pop(0)
        drop = n - self._base
        if drop > 256:
            del self._starts[:drop]
            self._base += drop


def shaped_power(weight: np.ndarray) -> np.ndarray:
    """S(w) = (1 - cos(pi w)) / 2: the power weight eased at both ends, so that the gains
    sqrt(S) of a two-way fade are sin/cos (finite slope where a stream enters or leaves; the
    bare sqrt(w) starts with an infinite slope, which steps the waveform)."""
    return 0.5 - 0.5 * np.cos(np.pi * weight)


def stream_gains(streams: list, weights: list) -> list:
    """The gain of each stream of one frame from its power weight w_k (arrays over the frame's
    samples) and the correlations its description carries (module docstring):
    g_k = sqrt(S(w_k) T / D), T = sum w (1, or less while fading from or to silence),
    D = sum S(w) + 2 sum_k sum_m r_m sqrt(S(w_{k-m}) S(w_k)) (k - m: the stream listed m before):
    the expected power of the correlated sum stays T."""
    shaped = [shaped_power(weight) for weight in weights]
    total = np.sum(weights, axis=0)
    power = np.sum(shaped, axis=0)
    for k, stream in enumerate(streams):
        for m, r in enumerate(stream[2] if len(stream) > 2 else (), 1):
            if m <= k:
                power = power + 2.0 * float(r) * np.sqrt(shaped[k - m] * shaped[k])
    scale = np.divide(total, power, out=np.zeros_like(total), where=power > 1e-12)
    return [np.sqrt(s * scale) for s in shaped]


def render_entries(samples: np.ndarray, entries: list, *, end: int, start: int | None = None
                   ) -> np.ndarray:
    """The sound the descriptions say: (end - start, C) int16 (start: the first entry's x).

    samples: the clip's sound, (S, C) int16. entries: per output frame [x, streams] in order,
    the next frame's x (or `end`) closing each. Each stream k, [src, points(, [r_1, r_2, ...])],
    adds g_k(o) * samples[src + o] for o in 0..len-1, w_k piecewise-linear through its points
    and g_k from the w's and r's by `stream_gains`, indices mirrored at the ends."""
    samples = np.asarray(samples)
    start = int(entries[0][0]) if start is None else int(start)
    out = np.zeros((int(end) - start, samples.shape[1]), np.float32)
    length = samples.shape[0]
    for position, (x, streams) in enumerate(entries):
        x_next = int(entries[position + 1][0]) if position + 1 < len(entries) else int(end)
        count = x_next - int(x)
        if count <= 0:
            continue
        block = out[int(x) - start: x_next - start]
        if len(streams) == 1 and all(w == 1.0 for _, w in streams[0][1]):  # between jumps: a copy
            first = int(round(streams[0][0]))
            if 0 <= first and first + count <= length:
                block += samples[first:first + count]
                continue
        offsets = np.arange(count, dtype=np.float64)
        weights = [np.clip(np.interp(offsets, np.asarray(stream[1], np.float64)[:, 0],
                                     np.asarray(stream[1], np.float64)[:, 1]), 0.0, 1.0)
                   for stream in streams]
        for stream, gain in zip(streams, stream_gains(streams, weights)):
            index = reflect_indices(int(round(stream[0])) + np.arange(count), length)
            block += gain[:, None].astype(np.float32) * samples[index].astype(np.float32)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def _describe(samples: np.ndarray, tiled: np.ndarray, *, rate: int, fps_clip: float,
              fps_out: float, fade_ms: float, adaptive: bool, period: int = 0,
              forced: dict | None = None) -> tuple[list, np.ndarray, dict]:
    """(the description of each output frame of the path `tiled`, its frame grid, the joins
    made {frame: Join}). forced: {frame mod period: Join} joins to make (`AudioFollower.feed`)."""
    follower = AudioFollower(rate=rate, fps_out=fps_out, fade=fade_samples(fade_ms, rate),
                             samples=samples, adaptive=adaptive)
    grid = frame_grid(tiled.shape[0], rate=rate, fps=fps_out)  # (L' + 1,)
    wanted = source_sample(tiled, 0.0, rate=rate, fps=fps_clip)  # (L',)
    joins = {}
    for n in range(tiled.shape[0]):
        join = follower.feed(int(grid[n]), float(wanted[n]),
                             forced=(forced or {}).get(n % period) if period else None)
        if join is not None:
            joins[n] = join
    follower.end(int(grid[-1]))
    return [follower.describe(n) for n in range(tiled.shape[0])], grid, joins


def _loop_entries(samples: np.ndarray, path: np.ndarray, *, rate: int, fps_clip: float,
                  fps_out: float, fade_ms: float) -> tuple[list, np.ndarray, int]:
    """A loop's descriptions: (entries of one copy, the grid of the tiled path, the copy's first
    frame in it). Each join slides its sound to meet the stream before it, so a copy of the loop
    depends on the copy before, and the joins need not settle. So the loop's first join is made
    once (as it falls after a copy of the loop) and then forced in every copy: every join after
    it follows the same streams, and from the second copy on the copies are described alike
    (checked; where not, every fade is full length and in place: `adaptive=False`)."""
    length = path.shape[0]
    reach = math.ceil(fade_samples(fade_ms, rate) / 2 / (rate / fps_out)) + 1  # frames a fade spans
    lead = math.ceil(reach / length)  # copies before the one kept: its fades reach back
    common = dict(rate=rate, fps_clip=fps_clip, fps_out=fps_out, fade_ms=fade_ms)
    copies = lead + 4  # the kept copy is compared with the next, which a copy follows too
    _, _, joins = _describe(samples, np.tile(path, 2), adaptive=True, **common)
    second = sorted(n - length for n in joins if n >= length)
    forced = {second[0]: joins[second[0] + length]} if second else {}
    for adaptive in (True, False):
        entries, grid, _ = _describe(samples, np.tile(path, copies), adaptive=adaptive,
                                     period=length, forced=forced, **common)
        kept = lead + 1
        this = entries[kept * length:(kept + 1) * length]
        after = entries[(kept + 1) * length:(kept + 2) * length]
        shift = int(grid[(kept + 1) * length] - grid[kept * length])
        if all(a[1] == b[1] and a[0] + shift == b[0] for a, b in zip(this, after)):
            return this, grid, kept * length
    return this, grid, kept * length  # (full fades in place: alike from the second copy on)


def path_audio(samples: np.ndarray, path, *, rate: int, fps_clip: float, fps_out: float | None = None,
               fade_ms: float = 50.0, cyclic: bool = False) -> tuple[np.ndarray, list]:
    """The sound of a whole path of source frames, one per output frame (export).

    path: (L,) int source frames. fps_out: the output frame rate (None: the clip's; another
    rate plays faster or slower, so the sound is time-stretched by grains). cyclic: a loop: the
    wrap is crossfaded like a jump and the fades run over it, so the file repeats seamlessly.
    Returns (sound (S, C) int16 with S = round(L * rate / fps_out) (cyclic: within one sample),
    the per-frame descriptions with x from 0)."""
    path = np.asarray(path, np.int64)
    samples = np.asarray(samples)
    fps_out = float(fps_out or fps_clip)
    length = path.shape[0]
    if cyclic:
        entries, grid, first = _loop_entries(samples, path, rate=rate, fps_clip=fps_clip,
                                             fps_out=fps_out, fade_ms=fade_ms)
    else:
        entries, grid, _ = _describe(samples, path, rate=rate, fps_clip=fps_clip,
                                     fps_out=fps_out, fade_ms=fade_ms, adaptive=True)
        first = 0
    origin = int(grid[first])
    stop = int(grid[first + length])
    sound = render_entries(samples, entries, start=origin, end=stop)
    for entry in entries:
        entry[0] -= origin
    return sound, entries


class PlayerSound:
    """The player's sound, one output frame at a time, from the live playback state.

    Output frame n covers output samples [round(n * rate / fps_out), ...). Its wanted source
    sample is where the play position sits; frames within the fade's reach ahead are fed from
    the position predicted at the speed in force (exact when time advances one output frame per
    frame, as headless; otherwise the next frames correct it, within the half-frame tolerance,
    by a crossfade). Play starts by fading in from silence; a pause fades the sound out and
    rests silent; resuming fades in afresh (no click either way).

    samples: the clip's sound (S, 2) int16 at `rate`; fps_clip: the clip's frame rate;
    state_frame: maps a texture state to a clip frame (generated bridge states), or None.
    """

    def __init__(self, samples: np.ndarray, *, rate: int, fps_clip: float, fps_out: float,
                 config: AudioConfig = AudioConfig(), state_frame=None):
        self.samples = samples
        self.rate = int(rate)
        self.fps_clip = float(fps_clip)
        self.fps_out = float(fps_out)
        self.config = config
        self.state_frame = state_frame
        self.fade = fade_samples(config.fade_ms, self.rate)
        self._follower: AudioFollower | None = None

    def output_start(self, n: int) -> int:
        return int(round(n * self.rate / self.fps_out))

    def _wanted(self, playback, position: float) -> float:
        base = int(math.floor(position + 1e-9))
        frame = playback.path_frame(base)
        if self.state_frame is not None:
            frame = self.state_frame(frame)
        return float(source_sample(frame, max(0.0, position - base), rate=self.rate, fps=self.fps_clip))

    def frame(self, n: int, playback) -> tuple[list, np.ndarray]:
        """(description, sound (len, 2) int16) of output frame n, the playback showing it now."""
        start, stop = self.output_start(n), self.output_start(n + 1)
        if playback.paused:  # the sound fades out (no click) and rests
            entry = [start, []] if self._follower is None else \
                self._follower.fade_out(start, stop - start)
            self._follower = None
            return entry, render_entries(self.samples, [entry], end=stop)
        follower = self._follower
        if follower is None:  # starting or resuming: fade in from silence
            follower = self._follower = AudioFollower(rate=self.rate, fps_out=self.fps_out,
                                                      fade=self.fade, ramp_in=True,
                                                      samples=self.samples)
            follower._base = n
        step = playback.config.speed * self.fps_clip / self.fps_out  # positions per output frame
        while not follower.ready(n):
            ahead = follower.fed
            position = playback.position + (ahead - n) * step
            follower.feed(self.output_start(ahead), self._wanted(playback, position))
        entry = follower.describe(n)
        return entry, render_entries(self.samples, [entry], end=stop)

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
keeps its level). Jumps closer than the fade overlap into a multi-way crossfade. The boundary B sits
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


class AudioFollower:
    """Streams and fades decided frame by frame (see the module docstring).

    `feed(x, s)` gives output frame n's first output sample and wanted source sample, in order;
    `describe(n)` returns frame n's description once the frames whose fades can reach into it
    have been fed (`lookahead` frames after it; `end` closes the timeline instead).
    """

    def __init__(self, *, rate: int, fps_out: float, fade: int, tolerance: float | None = None,
                 ramp_in: bool = False, samples: np.ndarray | None = None):
        self.rate = int(rate)
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
        self._streams: list[tuple[int, float, bool, tuple]] = []  # (B, src at B, fades in,
        #   r with the streams 1, 2, ... before it that still sound over its fade)
        self._end: int | None = None

    @property
    def fed(self) -> int:
        return self._base + len(self._starts)

    def feed(self, x: int, s: float) -> None:
        x = int(x)
        if self._streams:
            b, src, _, _ = self._streams[-1]
            if abs(src + (x - b) - s) <= self.tolerance:
                self._starts.append(x)
                return
            start = float(round(s))
            correlations = []  # with the latest stream, then older ones still fading out
            for j in range(len(self._streams) - 1, -1, -1):
                if j + 1 < len(self._streams) and self._streams[j + 1][0] + self.half <= x - self.half:
                    break  # stream j has faded out before this fade begins (and all before it)
                b_j, src_j, _, _ = self._streams[j]
                correlations.append(self._correlation(src_j + (x - b_j), start))
            self._streams.append((x, start, True, tuple(correlations)))
        elif self.ramp_in:  # P(x' - B) rises from 0 at x to 1 at x + fade; plays s at x
            self._streams.append((x + self.half, float(round(s)) + self.half, True, ()))
        else:
            self._streams.append((x, float(round(s)), False, ()))
        self._starts.append(x)

    def _correlation(self, out_src: float, in_src: float) -> float:
        """r in [0, 1]: the normalised correlation of the stream fading out (at source sample
        out_src at the fade's centre) and the one fading in (at in_src), over the fade, weighted
        by the fade's cross term, where their sum can overshoot. 0 without the sound."""
        if self.samples is None or self.fade < 4:
            return 0.0
        length = self.samples.shape[0]
        offsets = np.arange(-self.half, self.half)
        ramp = (offsets + 0.5) / self.fade + 0.5  # P at each sample's centre
        cross = np.sin(np.pi * ramp)[:, None]  # 2 sqrt(S(P) S(1 - P)): where the sum can swell
        a = self.samples[reflect_indices(int(round(out_src)) + offsets, length)].astype(np.float64)
        b = self.samples[reflect_indices(int(round(in_src)) + offsets, length)].astype(np.float64)
        norm = math.sqrt(float(np.sum(cross * a * a)) * float(np.sum(cross * b * b)))
        if norm <= 0.0:
            return 0.0
        return min(1.0, max(0.0, float(np.sum(cross * a * b)) / norm))

    def fade_out(self, x: int, count: int) -> list:
        """The description of a frame at x that ends the sound (a pause): the stream in force
        plays on, fading out over the fade (or the frame), then silence."""
        if not self._streams:
            return [int(x), []]
        b, src, _, _ = self._streams[-1]
        end = max(1, min(self.fade, count))
        return [int(x), [[src + (x - b), [[0, 1.0], [end, 0.0]] + ([[count, 0.0]] if count > end else [])]]]

    def end(self, x: int) -> None:
        """The timeline ends at output sample x (no frame follows the last fed)."""
        self._end = int(x)

    def ready(self, n: int) -> bool:
        return n + 1 + self.lookahead < self.fed or (self._end is not None and n < self.fed)

    def _ramp(self, z: float) -> float:
        """P(z) = clip(z / fade + 1/2, 0, 1): the power ramp of a stream fading in at z = 0."""
        return min(1.0, max(0.0, z / self.fade + 0.5))

    def describe(self, n: int) -> list:
        """[x_n, [[src, [[offset, weight], ...]], ...]] for output frame n (see module docstring)."""
        if not self.ready(n):
            raise ValueError(f"frame {n} needs {self.lookahead} later frames fed first")
        a = self._starts[n - self._base]
        b = self._starts[n + 1 - self._base] if n + 1 < self.fed else self._end
        streams = self._streams
        entries = []
        listed = []  # the index of each stream listed
        for k, (start, src, fades_in, correlations) in enumerate(streams):
            following = streams[k + 1][0] if k + 1 < len(streams) else None
            if fades_in and start - self.half >= b:
                break
            if following is not None and following + self.half <= a:
                continue
            points = {a, b}
            for kink in ((start - self.half, start + self.half) if fades_in else ()) + \
                    ((following - self.half, following + self.half) if following is not None else ()):
                if a < kink < b:
                    points.add(kink)
            xs = sorted(points)  # a few points: plain floats beat numpy here
            weight = [self._ramp(x - start) if fades_in else 1.0 for x in xs]
            if following is not None:
                weight = [w - self._ramp(x - following) for x, w in zip(xs, weight)]
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
        while len(self._streams) > 1 and self._streams[1][0] + self.half <= a:
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


def path_audio(samples: np.ndarray, path, *, rate: int, fps_clip: float, fps_out: float | None = None,
               fade_ms: float = 50.0, cyclic: bool = False) -> tuple[np.ndarray, list]:
    """The sound of a whole path of source frames, one per output frame (export).

    path: (L,) int source frames. fps_out: the output frame rate (None: the clip's; another
    rate plays faster or slower, so the sound is time-stretched by grains). cyclic: a loop: the
    wrap is crossfaded like a jump and the fades run over it, so the file repeats seamlessly.
    Returns (sound (S, C) int16 with S = round(L * rate / fps_out) (cyclic: within one sample),
    the per-frame descriptions with x from 0)."""
    path = np.asarray(path, np.int64)
    fps_out = float(fps_out or fps_clip)
    length = path.shape[0]
    follower = AudioFollower(rate=rate, fps_out=fps_out, fade=fade_samples(fade_ms, rate),
                             samples=np.asarray(samples))
    if cyclic:  # enough copies before and after that the middle copy sees every fade
        extra = follower.lookahead + 1
        copies = 2 * math.ceil(extra / length) + 1
        tiled = np.tile(path, copies)
        first = (copies // 2) * length
    else:
        tiled, first = path, 0
    grid = frame_grid(tiled.shape[0], rate=rate, fps=fps_out)  # (L' + 1,)
    wanted = source_sample(tiled, 0.0, rate=rate, fps=fps_clip)  # (L',)
    for n in range(tiled.shape[0]):
        follower.feed(int(grid[n]), float(wanted[n]))
    follower.end(int(grid[-1]))
    entries = [follower.describe(n) for n in range(tiled.shape[0])][first:first + length]
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

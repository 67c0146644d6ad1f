"""Generated in-between frames: a small model trained on the clip's own frames (issue 6).

Given two endpoint frames `a`, `b` and a time `t` in (0, 1), produce the frame between them.
The model is a flow-guided warp refined by a learned U-Net:

1. optical flow both ways between the endpoints (OpenCV DIS, computed with cv2 outside torch);
2. both endpoints warped to time t (the linear-motion flow approximation of Super SloMo,
   Jiang et al. 2018), which alone is the "flow morph" baseline `flow_morph`;
3. a small U-Net sees the endpoints, the two warps, the intermediate flows and t, and outputs a
   per-pixel blend weight between the warps plus an RGB residual. Its last layer starts at zero,
   so an untrained model *is* the flow morph, and training can only start from there.

Training tuples come from the clip itself: frames s and s+k (2 <= k <= max_gap) with the real
frame s+m between them at t = m/k, plus their time reversal (b, a, 1-t). This is the
internal-learning idea of Deep Image Prior and SinGAN: no outside data or pretrained weights.
Each in-between frame (s, k, m) is equally likely, as in the evaluation and in bridges. The network
trains on crops, but its warps sample the whole endpoints, as at use. A time-limited run times its
first steps and decays the learning rate over the steps that fit (recorded as planned_steps).
With `validation` > 0 the last stretch of the training frames is kept out: of the checkpoints
scored there (the untrained morph, then every `validate_every` steps of the second half of the
run, and the last) the best is kept. It stops overfitting on short clips (candle_png, waterfall)
but cost 3-8 dB on the procedural candle's held-out frames (fewer frames trained), so it is off
by default.

This is the one module that imports torch for the model (imported inside the functions that need
it, so `import precompute.generative` stays cheap). Everything in and out is numpy:
frames `(H, W, 3) uint8` RGB, clips `(T, H, W, 3) uint8`, flows `(H, W, 2) float32` in pixels
with OpenCV's convention `a[y, x] ~ b[y + f_y, x + f_x]`.

Saved model: `model.pt` (torch.save of the state_dict) and a JSON sidecar `model.json` with the
format, format version, the GenerativeConfig, the training record and the sha256 of `model.pt`.
`load_model` checks the version and the hash *before* `torch.load(weights_only=True)`.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from precompute.errors import AnalysisError, ConfigError
from precompute.generative_nets import GENERATORS, diffusion_sample, input_channels, objective

__all__ = [
    "GenerativeConfig",
    "GenerativeModel",
    "FORMAT",
    "FORMAT_VERSION",
    "default_config",
    "model_size",
    "resize_frames",
    "optical_flow",
    "flow_morph",
    "crossfade",
    "train_model",
    "save_model",
    "load_model",
]

FORMAT = "framechain-generative"
FORMAT_VERSION = 2  # 2: the config names its generator (issue 13); version 1 files are regression models
READABLE_VERSIONS = (1, 2)
WEIGHTS_FILE = "model.pt"
SIDECAR_FILE = "model.json"


@dataclass(frozen=True)
class GenerativeConfig:
    """Settings of the in-between model and its training. Defaults fit 2 CPU cores in 5 minutes."""

    width: int = 128  # model (analysis) width in px; height follows the clip's aspect, rounded to 8. Larger: sharper, slower
    channels: int = 16  # U-Net width at half resolution (x2, x4 deeper). Larger: more capacity, slower per step
    max_gap: int = 6  # longest training gap k (frames s, s+k); keep >= bridge length + 1
    steps: int = 6000  # most optimiser steps; a time-limited run plans fewer (1 core made 2400-4500 in 5 min at 128 px)
    time_limit_s: float = 300.0  # wall-clock training budget, flows included; the run times its first steps, plans the steps that fit and records planned_steps (rerun with steps=planned_steps and a loose limit to reproduce)
    batch_size: int = 8  # tuples per step
    crop: int = 64  # training crop side in px (the model is convolutional; full frames at use). Larger: more context, slower
    crop_tries: int = 4  # random crops drawn per sample; the one with most change between the endpoints is used (1: uniform)
    learning_rate: float = 2e-3  # Adam, cosine-decayed to 1% over the planned steps
    loss: str = "charbonnier"  # training loss, "charbonnier" (smooth L1) or "l2". 1-min runs: Charbonnier +1.25-1.37 dB over the best baseline on candle_png vs L2 +0.16-0.35; L2 better only on the procedural fish (+0.55 vs -0.05)
    flow: str = "dis"  # optical flow for the warp: "dis" (OpenCV DIS, medium preset) or "farneback"
    seed: int = 0  # fixes sampling and initial weights: same seed, same steps, same threads -> same weights
    device: str = "auto"  # "auto" (CUDA when present, said), "cpu" or "cuda"
    threads: int = 1  # torch CPU threads (results are reproducible for a fixed count). 1 by default: on a shared
    # machine 2 threads spin-wait on each other and ran 7x slower per step (measured under load 7 on 2 cores)
    flow_cache_mb: int = 384  # memory for cached training flows (float16); beyond it flows are recomputed
    validation: float = 0.0  # share of the training frames (the last stretch) kept out to pick the best checkpoint; off: 0.1 gave candle_png +1.32 dB (off +0.78), waterfall +2.77, but the procedural candle -3.2 (off -0.01)
    validate_every: int = 100  # steps between checkpoint scores in the second half of the run (each costs about one step per 8 validation frames)
    generator: str = "regression"  # "regression" (the U-Net on the reconstruction loss alone), "gan" (plus a conditional patch discriminator, pix2pix) or "diffusion" (SDEdit from the morph); see precompute/generative_nets.py
    adversarial_weight: float = 0.02  # gan: weight of the least-squares adversarial loss beside the Charbonnier loss (pix2pix's 1:100 is 0.01). Larger: sharper, riskier
    discriminator_rate: float = 1e-3  # gan: the discriminator's Adam rate (constant)
    diffusion_strength: float = 0.5  # diffusion: the noise level the morph is started from (0: the morph, 1: pure noise); training draws levels in (0, this]
    diffusion_steps: int = 4  # diffusion: denoising steps from that level to 0 (each one network pass per frame)

    def __post_init__(self):
        checks = {
            "width": self.width >= 16,
            "channels": self.channels >= 4,
            "max_gap": self.max_gap >= 2,
            "steps": self.steps >= 0,
            "time_limit_s": self.time_limit_s > 0,
            "batch_size": self.batch_size >= 1,
            "crop": self.crop >= 16 and self.crop % 8 == 0,
            "crop_tries": self.crop_tries >= 1,
            "learning_rate": self.learning_rate > 0,
            "flow": self.flow in ("dis", "farneback"),
            "loss": self.loss in ("charbonnier", "l2"),
            "device": self.device in ("auto", "cpu", "cuda"),
            "threads": self.threads >= 1,
            "flow_cache_mb": self.flow_cache_mb >= 0,
            "validation": 0 <= self.validation < 0.5,
            "validate_every": self.validate_every >= 1,
            "generator": self.generator in GENERATORS,
            "adversarial_weight": self.adversarial_weight >= 0,
            "discriminator_rate": self.discriminator_rate > 0,
            "diffusion_strength": 0 < self.diffusion_strength <= 1,
            "diffusion_steps": 1 <= self.diffusion_steps <= 50,
        }
        # the checkpoint pick scores MSE, which a sampling generator does not aim at
        if self.validation > 0 and self.generator != "regression":
            checks["validation"] = False
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            values = {name: getattr(self, name) for name in bad}
            raise ConfigError(f"GenerativeConfig: out of range: {values} (see the field comments)")


def default_config(device: str = "auto") -> GenerativeConfig:
    """The default config for a device: on CUDA a wider model at 256 px with larger batches."""
    if _resolve_device(device, say=False) == "cuda":
        return GenerativeConfig(width=256, channels=32, batch_size=16, crop=128, steps=8000, device="cuda")
    return GenerativeConfig(device="cpu" if device == "cpu" else device)


# ----------------------------------------------------------------------------- shared helpers
# The warp helpers and the networks live in their own modules (issue 13); their names stay
# reachable here, where bridges, the benchmarks and the tests have always found them.
from precompute.generative_warp import (  # noqa: E402,F401
    _backward_warp, _check_frame, _check_frames, _flow_pair, _flows_at, _gray, _grid, _morph_parts,
    crossfade, flow_morph, model_size, optical_flow, resize_frames)
from precompute.generative_nets import (  # noqa: E402,F401
    FLOW_SCALE, IN_CHANNELS, MAX_FLOW_CORRECTION, _build_net, _compose, _pack, _warp_torch)

def _resolve_device(device: str, *, say: bool = True) -> str:
    import torch

    if device == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("device='cuda' but torch sees no CUDA device; use device='auto' or 'cpu'")
        return "cuda"
    if device == "auto":
        chosen = "cuda" if torch.cuda.is_available() else "cpu"
        if say and chosen == "cpu":
            print("generative: no CUDA device, using the CPU", flush=True)
        return chosen
    return "cpu"


@dataclass
class GenerativeModel:
    """A trained in-between model. `interpolate(a, b, times)` is the one interface.

    `size` is the model's (h, w); endpoint frames of another size are resized to it and the result
    is returned at the model size (bridges.py upsamples to display size, guided by the endpoints).
    """

    config: GenerativeConfig
    size: tuple[int, int]
    state_dict: dict
    record: dict = field(default_factory=dict)  # training record: steps, seconds, losses, frames used
    _net: object = field(default=None, repr=False, compare=False)

    def _network(self):
        import torch

        if self._net is None:
            net = _build_net(self.config.channels, input_channels(self.config.generator))
            net.load_state_dict(self.state_dict)
            net.eval()
            device = self.config.device
            if device == "cuda" and not torch.cuda.is_available():
                print("generative: model trained on CUDA, no CUDA device here: running it on the CPU", flush=True)
                device = "cpu"
            self._net = net.to(_resolve_device(device, say=False))
        return self._net

    def interpolate(self, a: np.ndarray, b: np.ndarray, times, *, flows=None) -> np.ndarray:
        """Frames between a and b at each t: (H, W, 3) uint8 x2, (K,) in (0, 1) -> (K, h, w, 3) uint8
        at the model size. `flows` may pass precomputed (f01, f10) at the model size."""
        _check_frame(a, "a")
        _check_frame(b, "b")
        times = np.atleast_1d(np.asarray(times, dtype=np.float64))
        if np.any((times <= 0) | (times >= 1)):
            raise ConfigError(f"times must lie in (0, 1), got {times.tolist()}")
        a_small, b_small = resize_frames(np.stack([a, b]), self.size)
        f01, f10 = flows if flows is not None else _flow_pair(a_small, b_small, self.config.flow)
        batch = np.stack([_pack(a_small, b_small, *_morph_parts(a_small, b_small, f01, f10, float(t)), float(t))
                          for t in times])  # (K, 17, h, w)
        return self._run(batch)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        import torch

        net = self._network()
        device = next(net.parameters()).device
        previous_threads = torch.get_num_threads()
        torch.set_num_threads(self.config.threads)
        try:
            with torch.inference_mode():
                inputs = torch.from_numpy(batch).to(device)
                if self.config.generator == "diffusion":
                    # one noise image for every t of the call (a bridge's frames share it, so they
                    # do not flicker against each other), fixed by the seed
                    noise = torch.randn((1, 3) + batch.shape[2:],
                                        generator=torch.Generator().manual_seed(self.config.seed))
                    pred = diffusion_sample(net, inputs, strength=self.config.diffusion_strength,
                                            steps=self.config.diffusion_steps, noise=noise.to(device))
                else:
                    pred = _compose(net, inputs)  # (K, 3, h, w)
                pred = (pred.clamp(0, 1) * 255 + 0.5).to(torch.uint8)
        finally:
            torch.set_num_threads(previous_threads)
        return pred.permute(0, 2, 3, 1).cpu().numpy()  # (K, h, w, 3)


# ----------------------------------------------------------------------------- training

def _training_spans(n_frames: int, usable: np.ndarray, max_gap: int) -> list[tuple[int, int]]:
    """All (s, k), 2 <= k <= max_gap, whose frames s..s+k are all usable (held-out frames are not)."""
    spans = []
    for k in range(2, max_gap + 1):
        for s in range(0, n_frames - k):
            if usable[s:s + k + 1].all():
                spans.append((s, k))
    return spans


class _FlowCache:
    """Flows of training pairs at the model size, as float16, kept up to a memory budget."""

    def __init__(self, frames, method, budget_bytes):
        self.frames, self.method, self.budget = frames, method, budget_bytes
        self.store, self.used = {}, 0

    def fill(self, spans, deadline: float):
        """Compute and keep the flows of `spans` in order until the memory budget is spent or the
        clock (time.perf_counter) passes `deadline`; the rest are computed when first drawn."""
        h, w = self.frames.shape[1:3]
        pair_bytes = h * w * 2 * 2 * 2  # two (h, w, 2) float16 flows
        for s, k in spans:
            if self.used + pair_bytes >= self.budget or time.perf_counter() > deadline:
                return
            self.get(s, k)

    def get(self, s, k):
        key = (s, k)
        if key in self.store:
            f01, f10 = self.store[key]
            return f01.astype(np.float32), f10.astype(np.float32)
        f01, f10 = (f.astype(np.float16) for f in _flow_pair(self.frames[s], self.frames[s + k], self.method))
        if self.used + f01.nbytes * 2 < self.budget:
            self.store[key] = (f01, f10)
            self.used += f01.nbytes * 2
        # float16 whether kept or not: a flow is the same value cached or recomputed, so the time
        # the cache fill got (see `fill`) never changes the weights.
        return f01.astype(np.float32), f10.astype(np.float32)


VALIDATION_FRAMES = 3  # fewest validation frames (one gap-2 tuple); clips whose training frames would drop below 4x this keep none
VALIDATION_CASES = 32  # most in-between frames scored per checkpoint


def _validation_range(usable: np.ndarray, share: float) -> tuple[int, int] | None:
    """[start, stop): the last `share` of the usable frames' last contiguous stretch, at least
    VALIDATION_FRAMES; None when share is 0 or the clip is too short to spare them."""
    if share <= 0 or not usable.any():
        return None
    stop = int(np.flatnonzero(usable)[-1]) + 1
    length = max(VALIDATION_FRAMES, int(round(usable.sum() * share)))
    start = stop - length
    if start < 0 or not usable[start:stop].all() or usable.sum() - length < 4 * VALIDATION_FRAMES:
        return None
    return start, stop


def _validation_batch(frames, span, max_gap, method):
    """Inputs (V, 17, h, w) and targets (V, 3, h, w), float32, of the in-between frames of
    validation range `span` (gaps 2..max_gap, at most VALIDATION_CASES, evenly chosen)."""
    start, stop = span
    cases = [(s, k, m) for k in range(2, max_gap + 1) for s in range(start, stop - k) for m in range(1, k)]
    if len(cases) > VALIDATION_CASES:
        cases = [cases[i] for i in np.linspace(0, len(cases) - 1, VALIDATION_CASES).round().astype(int)]
    flows, inputs, targets = {}, [], []
    for s, k, m in cases:
        if (s, k) not in flows:
            flows[(s, k)] = _flow_pair(frames[s], frames[s + k], method)
        a, b, t = frames[s], frames[s + k], m / k
        inputs.append(_pack(a, b, *_morph_parts(a, b, *flows[(s, k)], t), t))
        targets.append(frames[s + m].transpose(2, 0, 1).astype(np.float32) / 255)
    return np.stack(inputs), np.stack(targets)


def _validation_mse(net, inputs, targets, device) -> float:
    """Mean squared error (0..1 scale, output rounded to uint8 levels as at use) on the validation batch."""
    import torch

    total = 0.0
    with torch.inference_mode():
        for i in range(0, len(inputs), 8):
            pred = _compose(net, torch.from_numpy(inputs[i:i + 8]).to(device))
            pred = torch.round(pred.clamp(0, 1) * 255) / 255
            total += float(((pred - torch.from_numpy(targets[i:i + 8]).to(device)) ** 2).sum())
    return total / targets.size


def _sample_batch(frames, spans, cache, rng, config, size):
    """A batch of training inputs (B, 17, c, c), targets (B, 3, c, c) and the whole endpoints with
    each crop's origin (see `_compose`), float32.

    Each in-between frame (s, k, m) is equally likely, as in `evaluate_inbetweens` and as in a
    bridge (a gap-k span holds k - 1 of them): spans are drawn with weight k - 1. Drawing spans
    uniformly gave gap 2 three times the share it has among the frames to make."""
    h, w = size
    ch, cw = min(config.crop, h), min(config.crop, w)
    inputs, targets, full_a, full_b, origins = [], [], [], [], []
    cumulative = np.cumsum([k - 1 for _, k in spans], dtype=np.float64)  # (S,)
    for _ in range(config.batch_size):
        s, k = spans[int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))]
        m = int(rng.integers(1, k))
        a, b, target = frames[s], frames[s + k], frames[s + m]
        f01, f10 = cache.get(s, k)
        t = m / k
        if rng.random() < 0.5:  # time reversal is a free, exactly valid augmentation
            a, b, f01, f10, t = b, a, f10, f01, 1.0 - t
        # Of a few random crops keep the one where the endpoints differ most: static background
        # (black around a fish, a still wall) teaches nothing the morph does not already do.
        ys = rng.integers(0, h - ch + 1, size=config.crop_tries)
        xs = rng.integers(0, w - cw + 1, size=config.crop_tries)
        if config.crop_tries > 1:
            change = cv2.absdiff(a, b).sum(axis=2, dtype=np.float32)  # (h, w)
            integral = cv2.integral(change, sdepth=cv2.CV_64F)  # (h+1, w+1)
            motion = integral[ys + ch, xs + cw] - integral[ys, xs + cw] - integral[ys + ch, xs] + integral[ys, xs]
            best = int(np.argmax(motion))
        else:
            best = 0
        y0, x0 = int(ys[best]), int(xs[best])
        window = (slice(y0, y0 + ch), slice(x0, x0 + cw))
        # Crop first: the warps sample the whole endpoints but are computed on the crop only.
        parts = _morph_parts(a, b, f01[window], f10[window], t, origin=(y0, x0))
        inputs.append(_pack(a[window], b[window], *parts, t))  # (17, ch, cw)
        targets.append(target[window].transpose(2, 0, 1).astype(np.float32) / 255)
        full_a.append(a.transpose(2, 0, 1))
        full_b.append(b.transpose(2, 0, 1))
        origins.append((y0, x0))
    sources = (np.stack(full_a).astype(np.float32) / 255, np.stack(full_b).astype(np.float32) / 255,
               np.array(origins, np.float32))
    return np.stack(inputs), np.stack(targets), sources


def _prefetch(make, count: int, depth: int = 2):
    """Yield `make()` `count` times, made one or two ahead on a worker thread (cv2 and numpy
    release the GIL, so batch making overlaps the training step). One producer in order, so the
    batches are exactly those of a plain loop: seeds still fix them."""
    import queue
    import threading

    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            for _ in range(count):
                if stop.is_set():
                    return
                slots.put(("ok", make()))
        except BaseException as error:  # handed to the consumer, raised there
            slots.put(("error", error))

    worker = threading.Thread(target=produce, daemon=True, name="generative-batches")
    worker.start()
    try:
        for _ in range(count):
            kind, value = slots.get()
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get_nowait()
            except queue.Empty:
                pass
            worker.join(timeout=0.05)


FLOW_FILL_SHARE = 0.25  # of the time limit, spent at most on computing training flows before the first step
PLAN_AFTER_STEPS = 30  # a time-limited run times its steps 10..30 (the first ones are slower), then plans how many it can make


def _learning_rate(base: float, step: int, planned: int) -> float:
    """`base` for the first PLAN_AFTER_STEPS steps (while the run times itself), then a cosine
    decay to 1% of it at step `planned`, then 1%. The rates of a run depend on `planned` only, so
    a rerun with steps=planned (and no binding time limit) repeats a time-limited run exactly."""
    if step < PLAN_AFTER_STEPS:
        return base
    progress = min(1.0, (step - PLAN_AFTER_STEPS) / max(1, planned - PLAN_AFTER_STEPS))
    return base * (0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress)))


def train_model(frames: np.ndarray, *, config: GenerativeConfig = GenerativeConfig(),
                holdout: tuple[int, int] | None = None, progress: bool = True) -> GenerativeModel:
    """Train the in-between model on a clip's own frames.

    frames: (T, H, W, 3) uint8 RGB, any size (resized to the model size, `config.width` wide).
    holdout: a frame range [start, stop) that no training tuple touches (for evaluation).
    Returns the trained GenerativeModel; its `record` says the steps run, seconds and losses.
    """
    import torch
    from tqdm.auto import tqdm

    _check_frames(frames)
    n_frames = len(frames)
    usable = np.ones(n_frames, dtype=bool)
    if holdout is not None:
        start, stop = holdout
        if not (0 <= start < stop <= n_frames):
            raise ConfigError(f"holdout must be a range inside [0, {n_frames}), got {holdout}")
        usable[start:stop] = False
    validation = _validation_range(usable, config.validation)
    if validation is not None:
        usable[validation[0]:validation[1]] = False
    spans = _training_spans(n_frames, usable, config.max_gap)
    if not spans:
        raise ConfigError(f"frames: {n_frames} frames (holdout {holdout}) leave no training tuple of "
                          f"gap 2..{config.max_gap}; give a longer clip")
    size = model_size(frames.shape[1], frames.shape[2], model_width=config.width)
    small = resize_frames(frames, size)  # (T, h, w, 3)

    device = _resolve_device(config.device, say=progress)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        torch.manual_seed(config.seed)
        rng = np.random.default_rng(config.seed)
        net = _build_net(config.channels, input_channels(config.generator)).to(device)
        optimiser = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
        aim = objective(config, device)  # the generator's loss (the GAN's discriminator steps inside it)
        cache = _FlowCache(small, config.flow, config.flow_cache_mb * 2**20)
        losses = []
        # The checkpoint kept is the one best on the validation frames; the untrained net (the
        # flow morph) is the first candidate, so a run that only overfits keeps the morph.
        scores, best_state, best_step, scoring_seconds = [], None, 0, 0.0
        if validation is not None and config.steps > 0:
            val_inputs, val_targets = _validation_batch(small, validation, config.max_gap, config.flow)
        started = time.perf_counter()
        steps_run = 0
        bar = tqdm(total=config.steps, desc=f"generative ({device}, {size[1]}x{size[0]})",
                   disable=not progress, unit="step", dynamic_ncols=True)
        net.train()
        if config.steps > 0:
            # Training flows first (a quarter of the time at most): the steps then run at an even
            # pace, which their plan assumes.
            bar.set_postfix_str("computing training flows")
            cache.fill(spans, deadline=started + FLOW_FILL_SHARE * config.time_limit_s)
        planned = config.steps
        timed_from = None
        batches = _prefetch(lambda: _sample_batch(small, spans, cache, rng, config, size), config.steps)
        for step in range(config.steps):
            now = time.perf_counter()
            if now - started > config.time_limit_s:
                break
            if step == 10:
                timed_from = now
            if step == PLAN_AFTER_STEPS:
                # A time-limited run decays its learning rate over the steps it can make: a cosine
                # over `steps` cut short by the clock ended at a high rate, short of converging.
                per_step = (now - timed_from) / (PLAN_AFTER_STEPS - 10) + scoring_seconds / config.validate_every
                left = config.time_limit_s - (now - started)
                planned = int(min(config.steps, step + max(1.0, 0.98 * left / per_step)))
            for group in optimiser.param_groups:
                group["lr"] = _learning_rate(config.learning_rate, step, planned)
            inputs, targets, sources = next(batches)
            inputs = torch.from_numpy(inputs).to(device)
            targets = torch.from_numpy(targets).to(device)
            sources = tuple(torch.from_numpy(x).to(device) for x in sources)
            loss = aim.loss(net, inputs, targets, sources)
            # Candidates: the untrained morph and checkpoints of the decay's second half. An earlier
            # one (step 1300 of 3081, at a high rate) scored best on the procedural candle's
            # validation frames and lost 8 dB on the held-out frames after them.
            if validation is not None and step % config.validate_every == 0 and (step == 0 or 2 * step >= planned):
                scoring_started = time.perf_counter()
                scores.append((step, _validation_mse(net, val_inputs, val_targets, device)))
                scoring_seconds = time.perf_counter() - scoring_started
                if scores[-1][1] <= min(score for _, score in scores):
                    best_state = {name: value.detach().clone() for name, value in net.state_dict().items()}
                    best_step = step
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            optimiser.step()
            losses.append(loss.item())
            steps_run = step + 1
            if step % 10 == 0:
                bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
            bar.update(1)
        bar.close()
        batches.close()
        if validation is not None and steps_run > 0:
            scores.append((steps_run, _validation_mse(net, val_inputs, val_targets, device)))
            if scores[-1][1] <= min(score for _, score in scores):
                best_state, best_step = None, steps_run
        if best_state is not None:
            net.load_state_dict(best_state)
        seconds = time.perf_counter() - started
        state = {name: value.detach().cpu().clone() for name, value in net.state_dict().items()}
    finally:
        torch.set_num_threads(previous_threads)
    record = {
        "steps_run": steps_run,
        "stopped_by_time": steps_run < config.steps,
        "train_seconds": round(seconds, 3),
        "first_loss": losses[0] if losses else None,
        "final_loss": float(np.mean(losses[-50:])) if losses else None,
        "frames": n_frames,
        "holdout": list(holdout) if holdout is not None else None,
        "tuples": len(spans),
        "planned_steps": planned,
        "validation": list(validation) if validation is not None else None,
        "best_step": best_step if scores else steps_run,
        "validation_psnr": [(step, round(10 * math.log10(1 / max(mse, 1e-12)), 3)) for step, mse in scores],
        "device": device,
        "generator": config.generator,
        **aim.record(),
    }
    return GenerativeModel(config=config, size=size, state_dict=state, record=record)


# ----------------------------------------------------------------------------- save / load

from precompute.bundle import sha256_file as _sha256  # noqa: E402  (one hashing helper)


def save_model(model: GenerativeModel, folder) -> Path:
    """Write `model.pt` (state_dict) and `model.json` (format, version, config, size, record,
    sha256) into `folder` (created). Returns the folder. Written to temporary names, then renamed."""
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / WEIGHTS_FILE
    temporary = folder / (WEIGHTS_FILE + ".tmp")
    torch.save(model.state_dict, temporary)
    sidecar = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": dataclasses.asdict(model.config),
        "size": list(model.size),
        "record": model.record,
        "files": {WEIGHTS_FILE: _sha256(temporary)},
    }
    os.replace(temporary, weights)
    side_temporary = folder / (SIDECAR_FILE + ".tmp")
    side_temporary.write_text(json.dumps(sidecar, indent=2))
    os.replace(side_temporary, folder / SIDECAR_FILE)
    return folder


def load_model(folder) -> GenerativeModel:
    """Load a model saved by `save_model`. Refuses a missing sidecar, an unknown format version or
    a weights file whose sha256 does not match (tampered or truncated), before unpickling anything;
    then loads with `torch.load(weights_only=True)`."""
    import torch

    folder = Path(folder)
    sidecar_path, weights = folder / SIDECAR_FILE, folder / WEIGHTS_FILE
    if not sidecar_path.is_file() or not weights.is_file():
        raise AnalysisError(f"{folder}: no generative model ({SIDECAR_FILE} and {WEIGHTS_FILE}); "
                            "train one with `framechain bridges` or precompute.bridges.build_bridges")
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except (OSError, ValueError) as error:
        raise AnalysisError(f"{sidecar_path}: unreadable model sidecar ({error}); retrain the model") from error
    if sidecar.get("format") != FORMAT or sidecar.get("format_version") not in READABLE_VERSIONS:
        raise AnalysisError(f"{sidecar_path}: format {sidecar.get('format')!r} version "
                            f"{sidecar.get('format_version')!r}, this framechain reads {FORMAT!r} "
                            f"version {FORMAT_VERSION}; retrain the model")
    expected = sidecar.get("files", {}).get(WEIGHTS_FILE)
    if expected != _sha256(weights):
        raise AnalysisError(f"{weights}: sha256 does not match {SIDECAR_FILE} (tampered or truncated); "
                            "refusing to load it; retrain the model")
    known = {f.name for f in dataclasses.fields(GenerativeConfig)}
    config = GenerativeConfig(**{k: v for k, v in sidecar["config"].items() if k in known})
    state = torch.load(weights, map_location="cpu", weights_only=True)
    return GenerativeModel(config=config, size=tuple(sidecar["size"]), state_dict=state,
                           record=sidecar.get("record", {}))


# ----------------------------------------------------------------------------- evaluation

METHODS = ("cut", "crossfade", "morph_dis", "morph_farneback", "generated")


def holdout_range(n_frames: int, *, fraction: float = 0.1, minimum: int = 3) -> tuple[int, int]:
    """The contiguous held-out stretch [start, stop): the last `fraction` of the clip, at least
    `minimum` frames (so one gap-2 tuple fits)."""
    length = max(minimum, int(round(n_frames * fraction)))
    if length >= n_frames:
        raise ConfigError(f"a clip of {n_frames} frames is too short to hold out {length} frames")
    return n_frames - length, n_frames


def evaluate_inbetweens(frames: np.ndarray, holdout: tuple[int, int], *, model: GenerativeModel | None,
                        size: tuple[int, int], max_gap: int = 6, max_frames: int = 300) -> dict:
    """PSNR of each method against the real in-between frames of the held-out stretch.

    frames: (T, H, W, 3) uint8; every tuple (s, s+k), 2 <= k <= max_gap, inside `holdout`, and each
    real frame s+m between them at t = m/k (at most `max_frames` of them, evenly chosen). All
    methods are scored at `size` (the model size). PSNR is of the MSE pooled over all scored
    frames (dB, 0..255 scale), so an exact frame does not make it infinite.
    Returns {"psnr": {method: dB}, "frames_scored": n, "tuples": n, "ms_per_frame": {method: ms}}.
    """
    _check_frames(frames)
    start, stop = holdout
    small = resize_frames(frames[start:stop], size).astype(np.uint8)  # (L, h, w, 3)
    cases = [(s, k, m) for k in range(2, max_gap + 1) for s in range(0, len(small) - k) for m in range(1, k)]
    if not cases:
        raise ConfigError(f"holdout {holdout} holds no tuple of gap 2..{max_gap}")
    if len(cases) > max_frames:
        cases = [cases[i] for i in np.linspace(0, len(cases) - 1, max_frames).round().astype(int)]
    methods = [m for m in METHODS if m != "generated" or model is not None]
    squared = {m: 0.0 for m in methods}
    seconds = {m: 0.0 for m in methods}
    for s, k, m in cases:
        a, b, truth = small[s], small[s + k], small[s + m].astype(np.float64)
        t = m / k
        for method in methods:
            started = time.perf_counter()
            if method == "cut":
                guess = a if t <= 0.5 else b
            elif method == "crossfade":
                guess = crossfade(a, b, [t])[0]
            elif method == "morph_dis":
                guess = flow_morph(a, b, [t], method="dis")[0]
            elif method == "morph_farneback":
                guess = flow_morph(a, b, [t], method="farneback")[0]
            else:
                guess = model.interpolate(a, b, [t])[0]
            seconds[method] += time.perf_counter() - started
            squared[method] += float(np.mean((guess.astype(np.float64) - truth) ** 2))
    n = len(cases)
    psnr = {method: round(10 * math.log10(255.0 ** 2 / max(squared[method] / n, 1e-10)), 3) for method in methods}
    psnr["morph"] = max(psnr["morph_dis"], psnr["morph_farneback"])
    return {"psnr": psnr, "frames_scored": n, "tuples": len({(s, k) for s, k, _ in cases}),
            "ms_per_frame": {method: round(1000 * seconds[method] / n, 3) for method in methods}}

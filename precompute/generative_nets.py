"""The networks of the in-between models (issue 6; split out and extended in issue 13).

- the U-Net that refines the flow morph (`build_net`, `compose`): every generator's frame maker;
- the conditional patch discriminator of the GAN (`build_discriminator`), pix2pix-style: it
  sees the endpoints, t and a frame, and scores each patch real or made;
- the few-step sampler of the diffusion refiner (`diffusion_sample`): SDEdit from the morph.

Torch is imported inside the functions (importing this module stays cheap). Tensors are
(B, C, H, W) float32 in 0..1 (flows in px / FLOW_SCALE).
"""
from __future__ import annotations

import numpy as np

IN_CHANNELS = 17  # a, b, warp a, warp b (3 each), flows t->0 and t->1 (2 each), t (1)


def _build_net(channels: int, in_channels: int = IN_CHANNELS):
    import torch
    from torch import nn

    def block(cin, cout, stride=1):
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.LeakyReLU(0.1, inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1), nn.LeakyReLU(0.1, inplace=True),
        )

    class _UNet(nn.Module):
        """(B, in_channels, H, W) -> (B, 8, H, W): RGB residual (0..1 scale), blend logit, flow corrections
        t->0 and t->1 (px/16). H, W % 8 == 0.

        The network works at half resolution on space-to-depth input (pixel unshuffle) and returns
        to full resolution by depth-to-space: full detail in and out for a quarter of the cost."""

        def __init__(self, c):
            super().__init__()
            self.enc1 = block(in_channels * 4, c)
            self.enc2 = block(c, 2 * c, stride=2)
            self.enc3 = block(2 * c, 4 * c, stride=2)
            self.dec2 = block(4 * c + 2 * c, 2 * c)
            self.dec1 = block(2 * c + c, c)
            self.head = nn.Conv2d(c, 8 * 4, 3, padding=1)
            # Zero start: the untrained model returns exactly the flow morph.
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)

        def forward(self, x):
            e1 = self.enc1(nn.functional.pixel_unshuffle(x, 2))  # (B, c, H/2, W/2)
            e2 = self.enc2(e1)  # (B, 2c, H/4, W/4)
            e3 = self.enc3(e2)  # (B, 4c, H/8, W/8)
            up = nn.functional.interpolate(e3, size=e2.shape[-2:], mode="bilinear", align_corners=False)
            d2 = self.dec2(torch.cat([up, e2], 1))  # (B, 2c, H/4, W/4)
            up = nn.functional.interpolate(d2, size=e1.shape[-2:], mode="bilinear", align_corners=False)
            d1 = self.dec1(torch.cat([up, e1], 1))  # (B, c, H/2, W/2)
            return nn.functional.pixel_shuffle(self.head(d1), 2)  # (B, 32, H/2, W/2) -> (B, 8, H, W)

    return _UNet(channels)


def _warp_torch(image, flow, origin=None):
    """Backward warp in torch: image (B, C, H, W) sampled at x + flow(x), flow (B, 2, h, w) in px.
    Bilinear with edge clamping, matching `_backward_warp` (cv2.remap) on the same flow. The flow
    may cover a crop whose top-left pixel is `origin` (B, 2) (y, x) in the image; samples still
    come from the whole image (as at use, where the crop is the whole frame)."""
    import torch

    _, _, h, w = flow.shape
    big_h, big_w = image.shape[-2:]
    ys = torch.arange(h, dtype=image.dtype, device=image.device).view(1, h, 1)
    xs = torch.arange(w, dtype=image.dtype, device=image.device).view(1, 1, w)
    if origin is not None:
        ys = ys + origin[:, 0].view(-1, 1, 1)
        xs = xs + origin[:, 1].view(-1, 1, 1)
    gx = (xs + flow[:, 0]) * (2.0 / max(big_w - 1, 1)) - 1.0  # (B, h, w)
    gy = (ys + flow[:, 1]) * (2.0 / max(big_h - 1, 1)) - 1.0  # (B, h, w)
    grid = torch.stack([gx, gy], dim=-1)  # (B, h, w, 2)
    return torch.nn.functional.grid_sample(image, grid, mode="bilinear", padding_mode="border",
                                           align_corners=True)


def _compose(net, inputs, sources=None):
    """inputs (B, 17, H, W) float in 0..1 (flows in px/16) -> prediction (B, 3, H, W), 0..1 scale.

    `sources` (training on crops): (a, b, origin), the whole endpoints (B, 3, H', W') and each
    crop's top-left pixel (B, 2) (y, x), so the re-warps sample the whole frames as they do at use.
    Without it, the endpoints in `inputs` are the whole frames.

    The network corrects both intermediate flows (the endpoints are re-warped along them), picks a
    per-pixel blend of the two warps (occlusions) and adds an RGB residual. All corrections start
    at zero, so the untrained model is the flow morph."""
    import torch

    a, b, t = inputs[:, 0:3], inputs[:, 3:6], inputs[:, 16:17]
    ft0, ft1 = inputs[:, 12:14] * FLOW_SCALE, inputs[:, 14:16] * FLOW_SCALE
    out = net(inputs)  # (B, 8, H, W)
    # Corrections are bounded (tanh): an unbounded flow step sent training astray at lr 4e-3.
    correction = torch.tanh(out[:, 4:8]) * MAX_FLOW_CORRECTION  # (B, 4, H, W) px
    # A crop's flows point outside it near its edges: sampling the crop alone (clamped) made the
    # training morph wrong there (up to 60 levels on the fish at 32 px crops), which at use it is not.
    full_a, full_b, origin = sources if sources is not None else (a, b, None)
    wa = _warp_torch(full_a, ft0 + correction[:, 0:2], origin)
    wb = _warp_torch(full_b, ft1 + correction[:, 2:4], origin)
    t = t.clamp(1e-3, 1 - 1e-3)
    # The learned logit moves the blend away from the plain (1 - t, t) weights where one warp is wrong.
    weight_a = torch.sigmoid(out[:, 3:4] + torch.log((1 - t) / t))
    return weight_a * wa + (1 - weight_a) * wb + out[:, :3]


FLOW_SCALE = 16.0  # flows enter the network in units of 16 px
MAX_FLOW_CORRECTION = 8.0  # px: the most the network may move the DIS flow at the model size


def _pack(a, b, wa, wb, ft0, ft1, t) -> np.ndarray:
    """One sample's network input: (17, H, W) float32."""
    h, w = a.shape[:2]
    parts = [a.astype(np.float32) / 255, b.astype(np.float32) / 255, wa / 255, wb / 255,
             ft0 / FLOW_SCALE, ft1 / FLOW_SCALE, np.full((h, w, 1), t, np.float32)]
    return np.concatenate(parts, axis=2).transpose(2, 0, 1)  # (H, W, 17) -> (17, H, W)


# ----------------------------------------------------------------------------- the generators

GENERATORS = ("regression", "gan", "diffusion")  # GenerativeConfig.generator choices
DIFFUSION_CHANNELS = 4  # extra input of the diffusion refiner: the noisy frame (3) and its noise level (1)
DISCRIMINATOR_IN = 10  # endpoints a, b (3 each), t (1), the frame judged (3)


def input_channels(generator: str) -> int:
    """Channels of the U-Net's input for a generator: the 17 morph inputs, plus the noisy frame
    and its noise level for the diffusion refiner."""
    return IN_CHANNELS + (DIFFUSION_CHANNELS if generator == "diffusion" else 0)


def charbonnier(pred, target):
    """The reconstruction loss (smooth L1) of every generator."""
    import torch

    return torch.sqrt((pred - target) ** 2 + 1e-6).mean()


def build_discriminator(channels: int):
    """The GAN's conditional patch discriminator (pix2pix's PatchGAN, smaller):
    (B, 10, H, W) (a, b, t, frame) -> (B, 1, H/4, W/4) logits, one per overlapping ~22 px patch.
    Spectral norm on every layer keeps it from overpowering the generator on a few minutes' run."""
    from torch import nn
    from torch.nn.utils.parametrizations import spectral_norm

    c = channels
    return nn.Sequential(
        spectral_norm(nn.Conv2d(DISCRIMINATOR_IN, c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True),
        spectral_norm(nn.Conv2d(c, 2 * c, 4, stride=2, padding=1)), nn.LeakyReLU(0.2, inplace=True),
        spectral_norm(nn.Conv2d(2 * c, 2 * c, 3, padding=1)), nn.LeakyReLU(0.2, inplace=True),
        spectral_norm(nn.Conv2d(2 * c, 1, 3, padding=1)),
    )


def discriminator_input(inputs, frame):
    """(B, >=17, H, W) model inputs and (B, 3, H, W) frame -> (B, 10, H, W): endpoints, t, frame."""
    import torch

    return torch.cat([inputs[:, 0:6], inputs[:, 16:17], frame], 1)


def morph_of(inputs):
    """The flow morph (1 - t) warp a + t warp b, from the packed inputs: (B, 3, H, W)."""
    t = inputs[:, 16:17]
    return (1 - t) * inputs[:, 6:9] + t * inputs[:, 9:12]


def noised(clean, noise, level):
    """A frame at noise level s (rectified-flow path): (1 - s) clean + s (0.5 + 0.5 noise), 0..1 scale,
    so s = 1 is pure noise of mean grey and std 0.5 (the [-1, 1] data scale's unit Gaussian)."""
    return (1 - level) * clean + level * (0.5 + 0.5 * noise)


def with_noise(inputs, noisy, level):
    """The diffusion refiner's input: (B, 17, H, W), (B, 3, H, W), (B, 1, 1, 1) -> (B, 21, H, W)."""
    import torch

    b, _, h, w = inputs.shape
    return torch.cat([inputs, noisy, level.expand(b, 1, h, w)], 1)


def diffusion_sample(net, inputs, *, strength: float, steps: int, noise):
    """SDEdit from the morph with the deterministic (DDIM / rectified-flow Euler) sampler.

    inputs (B, 17, H, W): the packed morph inputs of the whole frames; noise (B or 1, 3, H, W)
    standard normal. The morph is noised to level `strength`, then `steps` times the network
    predicts the clean frame x0 and the sample moves to the next lower level along the straight
    line through x0 and the current noise estimate; at level 0 the last x0 is the frame.
    The untrained network predicts the morph, so then the result is the morph exactly."""
    import torch

    levels = np.linspace(strength, 0.0, steps + 1)
    x = noised(morph_of(inputs), noise, torch.tensor(float(strength), dtype=inputs.dtype, device=inputs.device))
    clean = x
    for level, following in zip(levels[:-1], levels[1:]):
        s = torch.full((len(inputs), 1, 1, 1), float(level), dtype=inputs.dtype, device=inputs.device)
        clean = _compose(net, with_noise(inputs, x, s))
        if following > 0:
            # the same noise estimate, carried to the lower level: x' = x0 + (s'/s)(x - x0)
            x = clean + (following / level) * (x - clean)
    return clean



# ----------------------------------------------------------------------------- training objectives

class Objective:
    """What one training step of a generator minimises. `loss(net, inputs, targets, sources)`
    returns the generator's loss (a tensor to backpropagate); the GAN also updates its
    discriminator inside it. `record()` adds the objective's own figures to the training record."""

    def __init__(self, config, device):
        self.config, self.device = config, device

    def loss(self, net, inputs, targets, sources):
        pred = _compose(net, inputs, sources)
        if self.config.loss == "l2":
            return ((pred - targets) ** 2).mean()
        return charbonnier(pred, targets)

    def record(self) -> dict:
        return {}


class AdversarialObjective(Objective):
    """pix2pix: reconstruction + adversarial_weight x least-squares GAN loss from a conditional
    patch discriminator, which steps once per generator step (Adam, beta1 0.5, its own rate)."""

    def __init__(self, config, device):
        import torch

        super().__init__(config, device)
        self.discriminator = build_discriminator(2 * config.channels).to(device)
        self.optimiser = torch.optim.Adam(self.discriminator.parameters(), lr=config.discriminator_rate,
                                          betas=(0.5, 0.999))
        self.d_losses, self.g_adversarial = [], []

    def loss(self, net, inputs, targets, sources):
        pred = _compose(net, inputs, sources)
        # the discriminator's step: real frames to 1, made frames to 0 (least squares)
        real = self.discriminator(discriminator_input(inputs, targets))
        fake = self.discriminator(discriminator_input(inputs, pred.detach()))
        d_loss = 0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean())
        self.optimiser.zero_grad(set_to_none=True)
        d_loss.backward()
        self.optimiser.step()
        # the generator's: look real to the updated discriminator, and stay near the real frame
        fooled = self.discriminator(discriminator_input(inputs, pred))
        adversarial = ((fooled - 1) ** 2).mean()
        self.d_losses.append(float(d_loss.detach()))
        self.g_adversarial.append(float(adversarial.detach()))
        return charbonnier(pred, targets) + self.config.adversarial_weight * adversarial

    def record(self) -> dict:
        tail = slice(-50, None)
        return {"discriminator_loss": float(np.mean(self.d_losses[tail])) if self.d_losses else None,
                "adversarial_loss": float(np.mean(self.g_adversarial[tail])) if self.g_adversarial else None}


class DiffusionObjective(Objective):
    """Conditional denoising: the real frame noised to a level s ~ U(0, diffusion_strength], the
    network predicts the clean frame from it, the morph inputs and s (x0-prediction, Charbonnier).
    Noise comes from a torch generator seeded by config.seed, so seeds still fix the weights."""

    def __init__(self, config, device):
        import torch

        super().__init__(config, device)
        self.generator = torch.Generator(device="cpu").manual_seed(config.seed + 1)

    def loss(self, net, inputs, targets, sources):
        import torch

        b = len(inputs)
        level = torch.rand((b, 1, 1, 1), generator=self.generator) * self.config.diffusion_strength
        level = level.clamp_min(1e-3).to(self.device)
        noise = torch.randn(targets.shape, generator=self.generator).to(self.device)
        noisy = noised(targets, noise, level)
        return charbonnier(_compose(net, with_noise(inputs, noisy, level), sources), targets)


def objective(config, device) -> Objective:
    """The training objective of `config.generator`."""
    return {"regression": Objective, "gan": AdversarialObjective,
            "diffusion": DiffusionObjective}[config.generator](config, device)

"""The diffusion process around the DreamPose3D network: DDPM training, DDIM sampling.

The network predicts x0 (the clean root-relative 3D window) from x_t. Training draws t from the
T = 1000 steps of a cosine schedule (Nichol & Dhariwal 2021; uniformly, or biased towards high noise
by `settings.time_bias`) and noises s * x0 by q(x_t | x_0), where s = `settings.signal_scale` sets the
signal-to-noise ratio of the poses (DiffusionDet's "SNR scale"). With `settings.gate_noisy_input` the
network reads sqrt(abar_t) * x_t, so at t = T it sees no noise at all and regresses x0 from 2D.
Sampling starts H hypotheses from Gaussian noise and runs K DDIM steps (Song et al. 2021, eta = 0); each step re-noises the
predicted x0 to the next (smaller) step with q_sample and the implied noise. Hypotheses are
aggregated by their mean or per joint by 2D reprojection (JPMA, Shan et al. 2023 "D3DP"): for each
joint the hypothesis whose projection lies closest to the detected 2D keypoint wins.

With `settings.enabled = False` (the config's `diffusion` field) the same network is a plain regression lifter (x_t = 0, t = 0),
the non-diffusion baseline of the ablations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..reprojection import fit_weak_perspective
from .config import ModelConfig
from .dreampose3d import DreamPose3D
from .multiframe_head import HallucinativePoseDecoder


def cosine_beta_schedule(timesteps: int, s: float = 0.008) -> torch.Tensor:
    """Betas of the cosine schedule, float64 (Nichol & Dhariwal 2021, eq. 17)."""
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    alphas_cumprod = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    return torch.clip(1 - alphas_cumprod[1:] / alphas_cumprod[:-1], 0, 0.999)


def linear_beta_schedule(timesteps: int) -> torch.Tensor:
    """Betas of the linear schedule of Ho et al. 2020, scaled to `timesteps`."""
    scale = 1000 / timesteps
    return torch.linspace(scale * 1e-4, scale * 0.02, timesteps, dtype=torch.float64)


SCHEDULES = {"cosine": cosine_beta_schedule, "linear": linear_beta_schedule}


@dataclass(frozen=True)
class DiffusionSettings:
    """The noise process, apart from the network: what `GaussianDiffusion` reads, once.

    A checkpoint stores these among its `ModelConfig` fields (one JSON object travels with the
    weights); `from_config` picks them out, so the process never reaches into the network's config.
    `enabled` False is the plain regression baseline: no noise, one pass from zeros.
    """

    enabled: bool = True
    timesteps: int = 1000
    schedule: str = "cosine"
    signal_scale: float = 1.0
    time_bias: float = 1.0
    gate_noisy_input: bool = False

    @classmethod
    def from_config(cls, cfg: ModelConfig) -> "DiffusionSettings":
        return cls(enabled=cfg.diffusion, timesteps=cfg.timesteps, schedule=cfg.schedule,
                   signal_scale=cfg.signal_scale, time_bias=cfg.time_bias, gate_noisy_input=cfg.gate_noisy_input)


class GaussianDiffusion(nn.Module):
    def __init__(self, model: DreamPose3D, settings: DiffusionSettings | None = None):
        super().__init__()
        self.model = model
        self.settings = settings or DiffusionSettings.from_config(model.config)
        betas = SCHEDULES[self.settings.schedule](self.settings.timesteps)
        alphas_cumprod = torch.cumprod(1 - betas, dim=0)
        self.num_timesteps = self.settings.timesteps
        # q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I)
        self.register_buffer("sqrt_alphas_cumprod", alphas_cumprod.sqrt().float(), persistent=False)
        self.register_buffer("sqrt_one_minus_alphas_cumprod", (1 - alphas_cumprod).sqrt().float(), persistent=False)

    @staticmethod
    def _extract(a: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return a[t][:, None, None, None]

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t for the pose x0 (metres); the signal is s * x0."""
        return self._extract(self.sqrt_alphas_cumprod, t) * self.settings.signal_scale * x0 + \
            self._extract(self.sqrt_one_minus_alphas_cumprod, t) * noise

    def model_input(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What the network reads for x_t: x_t itself, or sqrt(abar_t) * x_t with `gate_noisy_input`."""
        return self._extract(self.sqrt_alphas_cumprod, t) * x_t if self.settings.gate_noisy_input else x_t

    def predict_noise_from_start(self, x_t: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        return (x_t - self._extract(self.sqrt_alphas_cumprod, t) * self.settings.signal_scale * x0) / \
            self._extract(self.sqrt_one_minus_alphas_cumprod, t)

    def training_timesteps(self, b: int, device) -> torch.Tensor:
        """(b,) steps, uniform for time_bias 1, else skewed towards T - 1."""
        u = torch.rand(b, device=device) ** (1.0 / self.settings.time_bias)
        return (u * self.num_timesteps).long().clamp_max(self.num_timesteps - 1)

    # --- training ---------------------------------------------------------------------------------
    def training_prediction(self, x0: torch.Tensor, keypoints2d: torch.Tensor, scores: torch.Tensor,
                            tables=None) -> dict:
        """Noise x0 at random steps and predict it back: returns HPD poses (B, N, n, J, 3) + APL logits."""
        b = x0.shape[0]
        prompt = self.model.prompt(keypoints2d, scores, tables=tables)
        if self.settings.enabled:
            t = self.training_timesteps(b, x0.device)
            x_t = self.q_sample(x0, t, torch.randn_like(x0))
        else:
            t = torch.zeros(b, dtype=torch.long, device=x0.device)
            x_t = torch.zeros_like(x0)
        poses = self.model(self.model_input(x_t, t), t, keypoints2d, scores, prompt["context"])
        return {"poses": poses, **prompt}

    def forward(self, x0: torch.Tensor, keypoints2d: torch.Tensor, scores: torch.Tensor, tables=None) -> dict:
        """Training forward (what DistributedDataParallel wraps): see `training_prediction`."""
        return self.training_prediction(x0, keypoints2d, scores, tables=tables)

    # --- sampling ---------------------------------------------------------------------------------
    def sample_passes(self, steps: int) -> int:
        """How many passes of the network `sample` makes (what its `on_step` counts)."""
        return len(self.ddim_timesteps(steps)) if self.settings.enabled else 1

    def ddim_timesteps(self, steps: int) -> list[int]:
        """K descending steps from T-1, e.g. K=3 -> [999, 666, 333]."""
        steps = max(1, min(steps, self.num_timesteps))
        return [int(s) for s in np.linspace(self.num_timesteps - 1, 0, steps + 1)[:-1].round()]

    @torch.no_grad()
    def sample(self, keypoints2d: torch.Tensor, scores: torch.Tensor, steps: int = 3, hypotheses: int = 1,
               aggregation: str = "mean", generator: torch.Generator | None = None, on_step=None) -> dict:
        """Lift windows: (B, N, J, 2), (B, N, J) -> 3D (B, N, J, 3), APL logits, all H hypotheses.

        `generator` (a CPU torch.Generator) makes the noise, hence the output, reproducible.
        `on_step(done, total)` is called after each pass of the network (`sample_passes(steps)` of
        them): progress within a batch, which changes nothing in the result.
        """
        b, n, j, _ = keypoints2d.shape
        prompt = self.model.prompt(keypoints2d, scores, generator=generator)
        h = hypotheses if self.settings.enabled else 1
        kp, sc = keypoints2d.repeat_interleave(h, 0), scores.repeat_interleave(h, 0)
        ctx = prompt["context"].repeat_interleave(h, 0) if prompt["context"] is not None else None
        if not self.settings.enabled:
            t0 = torch.zeros(b, dtype=torch.long, device=kp.device)
            x0 = HallucinativePoseDecoder.centre(self.model(torch.zeros(b, n, j, 3, device=kp.device), t0, kp, sc, ctx))
            if on_step is not None:
                on_step(1, 1)
        else:
            x = torch.randn((b * h, n, j, 3), generator=generator).to(kp.device)
            times = self.ddim_timesteps(steps)
            for i, step in enumerate(times):
                t = torch.full((b * h,), step, dtype=torch.long, device=kp.device)
                x0 = HallucinativePoseDecoder.centre(self.model(self.model_input(x, t), t, kp, sc, ctx))
                if on_step is not None:
                    on_step(i + 1, len(times))
                if i + 1 < len(times):   # DDIM (eta = 0): x_{t'} = sqrt(abar_t') x0 + sqrt(1 - abar_t') eps
                    eps = self.predict_noise_from_start(x, t, x0)
                    t_next = torch.full_like(t, times[i + 1])
                    x = self.q_sample(x0, t_next, eps)
        hyps = x0.view(b, h, n, j, 3)
        return {"joints3d": aggregate(hyps, keypoints2d, scores, aggregation), "hypotheses": hyps,
                "action_logits": prompt["action_logits"], "style_logits": prompt["style_logits"]}


def aggregate(hyps: torch.Tensor, keypoints2d: torch.Tensor, scores: torch.Tensor, how: str) -> torch.Tensor:
    """Combine H hypotheses (B, H, N, J, 3) into one pose sequence (B, N, J, 3).

    "mean": average. "jpma": per frame and joint, the hypothesis with the smallest 2D
    reprojection error (weak perspective fitted per hypothesis), where the joint is detected;
    undetected joints fall back to the mean.
    """
    if hyps.shape[1] == 1 or how == "mean":
        return hyps.mean(dim=1)
    if how != "jpma":
        raise ValueError(f"unknown aggregation {how!r}; use 'mean' or 'jpma'")
    kp, sc = keypoints2d[:, None], scores[:, None].expand(-1, hyps.shape[1], -1, -1)
    proj = fit_weak_perspective(hyps[..., :2], kp.expand(-1, hyps.shape[1], -1, -1, -1), sc)
    err = torch.linalg.norm(proj - kp, dim=-1)                        # (B, H, N, J)
    best = err.argmin(dim=1)                                          # (B, N, J)
    picked = torch.gather(hyps, 1, best[:, None, :, :, None].expand(-1, 1, -1, -1, 3))[:, 0]
    return torch.where((scores > 0)[..., None], picked, hyps.mean(dim=1))

"""DreamPose3D: APL + SRE + prompt-conditioned spatio-temporal denoiser + HPD, and its diffusion."""

from .config import ModelConfig
from .dreampose3d import DreamPose3D
from .diffusion import DiffusionSettings, GaussianDiffusion, aggregate

__all__ = ["ModelConfig", "DreamPose3D", "DiffusionSettings", "GaussianDiffusion", "aggregate"]

"""`ModelConfig`: every size and switch of a DreamPose3D network, stored inside each checkpoint.

Checkpoints describe themselves (nanoGPT style): the config travels with the weights as JSON, and
`DreamPose3D(ModelConfig.from_dict(...))` rebuilds the exact network. The ablation switches
(`use_apl`, `use_sre`, `hpd_frames`, `prompt_mode`, `diffusion`) select the paper's ablations
from one code path instead of forks of the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from ..errors import CheckpointError

CONFIG_VERSION = 1


@dataclass
class ModelConfig:
    # Vocabularies: the action classes and the subject/style classes the prompt is built from.
    actions: list[str] = field(default_factory=lambda: ["other"])
    styles: list[str] = field(default_factory=lambda: ["normal"])
    num_joints: int = 17
    window: int = 81              # N frames per denoising window
    width: int = 96               # channels per joint token
    depth: int = 4                # M alternating spatial/temporal block pairs
    heads: int = 4
    mlp_ratio: float = 2.0
    dropout: float = 0.0
    # Action Prompt Learning (APL): a small transformer over the 2D sequence.
    apl_width: int = 64
    apl_depth: int = 2
    text_dim: int = 384           # size of the frozen text encoder's embeddings (MiniLM 384, CLIP 512)
    text_encoder: str = "minilm"  # "minilm" | "openclip" | "none"
    # Hallucinative Pose Decoder: poses predicted per frame (n = 3 -> f-1, f, f+1). 1 = no HPD.
    hpd_frames: int = 3
    # Ablation switches.
    use_apl: bool = True          # False: no action prompt, no cross-attention context
    use_sre: bool = True          # False: no joint-affinity mixing before spatial attention
    prompt_mode: str = "learned"  # "learned" (predicted classes) | "random" (random classes' prompts)
    diffusion: bool = True        # False: plain regression lifter of the same size (baseline)
    # Diffusion process.
    timesteps: int = 1000
    schedule: str = "cosine"
    # x0 is multiplied by signal_scale before noising (the "SNR scale" of DiffusionDet / D3DP):
    # root-relative poses have a std of about 0.3 m, so at 1.0 the noise drowns them at most steps.
    signal_scale: float = 1.0
    # Training steps t = floor(T * u ** (1 / time_bias)), u ~ U(0, 1): 1.0 is uniform, > 1 favours
    # high noise, where the first sampling step (pure noise -> x0) is learned.
    time_bias: float = 1.0
    # The network sees sqrt(abar_t) * x_t instead of x_t ("gated" input, an EDM-style c_in): at
    # high noise the noisy 3D input fades to zero, so the first sampling step is a plain 2D -> 3D
    # regression instead of a prediction the network must first learn to shield from pure noise.
    gate_noisy_input: bool = False
    version: int = CONFIG_VERSION

    def __post_init__(self) -> None:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be divisible by heads {self.heads}")
        if self.hpd_frames < 1 or self.hpd_frames % 2 == 0:
            raise ValueError("hpd_frames must be odd and positive (the centre frame is the output)")
        if self.signal_scale <= 0 or self.time_bias <= 0:
            raise ValueError("signal_scale and time_bias must be positive")
        if self.prompt_mode not in ("learned", "random"):
            raise ValueError(f"unknown prompt_mode {self.prompt_mode!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Rebuild from a checkpoint's JSON; unknown keys or a newer version are clear errors."""
        if not isinstance(data, dict):
            raise CheckpointError("The checkpoint's model config is not a JSON object.")
        version = data.get("version", CONFIG_VERSION)
        if version > CONFIG_VERSION:
            raise CheckpointError(
                f"The checkpoint was written by a newer engine (config version {version}, this engine reads {CONFIG_VERSION}).")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise CheckpointError(f"The checkpoint's model config has unknown fields: {', '.join(sorted(unknown))}.")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"The checkpoint's model config is invalid ({exc}).") from exc

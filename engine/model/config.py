"""`ModelConfig`: every size and switch of a DreamPose3D network, stored inside each checkpoint.

Checkpoints describe themselves (nanoGPT style): the config travels with the weights as JSON, and
`DreamPose3D(ModelConfig.from_dict(...))` rebuilds the exact network. The ablation switches
(`use_apl`, `use_sre`, `hpd_frames`, `prompt_mode`, `diffusion`) select the paper's ablations
from one code path instead of forks of the model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from ..errors import CheckpointError
from ..limits import one_of, short_repr

CONFIG_VERSION = 1
APL_HEADS = 4   # attention heads of the APL transformer (denoiser.py builds it with these)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)     # JSON true must not pass as 1


def _int(lo: int, hi: int):
    expected = f"exactly {lo}" if lo == hi else f"an integer from {lo:,} to {hi:,}"
    return lambda v: None if _is_int(v) and lo <= v <= hi else expected


def _real(ok, expected: str):
    """A number (int or float, not a bool) passing `ok`; NaN fails every comparison, inf every upper bound."""
    return lambda v: None if isinstance(v, (int, float)) and not isinstance(v, bool) and ok(v) else expected


def _names(v) -> str | None:
    ok = isinstance(v, list) and 1 <= len(v) <= 10_000 and all(isinstance(s, str) and s.strip() for s in v) \
        and len(set(v)) == len(v)
    return None if ok else "a list of 1 to 10,000 unique non-empty strings"


def _flag(v) -> str | None:
    return None if isinstance(v, bool) else "true or false"


def _schedule(v) -> str | None:
    from .diffusion import SCHEDULES   # imported here: diffusion imports this module
    return one_of(*SCHEDULES)(v)


# Field -> check (None if the value is fine, else what it must be). A checkpoint's config is data
# from a file: every field is checked here, before a network is built from it, so a bad value is
# one sentence naming the field instead of a traceback, a wrong network or a huge allocation later.
# Sizes are bounded far above any real model (the shipped one: window 81, width 96, depth 4).
_CHECKS = {
    "actions": _names, "styles": _names,
    "num_joints": _int(17, 17),            # the H36M-17 skeleton; the joint affinity is built for it
    "window": _int(1, 10_000), "width": _int(1, 8192), "depth": _int(1, 128), "heads": _int(1, 128),
    "mlp_ratio": _real(lambda v: 0 < v <= 16, "a number above 0 and at most 16"),
    "dropout": _real(lambda v: 0 <= v < 1, "a number from 0 up to (not including) 1"),
    "apl_width": _int(1, 8192), "apl_depth": _int(1, 128), "text_dim": _int(1, 8192),
    "text_encoder": one_of("minilm", "openclip", "none"),
    "hpd_frames": _int(1, 99),
    "use_apl": _flag, "use_sre": _flag, "diffusion": _flag, "gate_noisy_input": _flag,
    "prompt_mode": one_of("learned", "random"),
    "timesteps": _int(1, 100_000), "schedule": _schedule,
    "signal_scale": _real(lambda v: 0 < v <= 1000, "a number above 0 and at most 1,000"),
    "time_bias": _real(lambda v: 0 < v <= 1000, "a number above 0 and at most 1,000"),
    "version": _int(1, CONFIG_VERSION),
}


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
        """Check every field's type and range (`_CHECKS`), then what the network needs of them together.

        Raises ValueError naming the field; `from_dict` turns it into a CheckpointError.
        """
        for name, check in _CHECKS.items():
            value = getattr(self, name)
            expected = check(value)
            if expected:
                raise ValueError(f"{name} must be {expected}, got {short_repr(value)}")
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be divisible by heads {self.heads}")
        if self.width % 2:
            raise ValueError(f"width {self.width} must be even (the timestep embedding is sine-cosine pairs)")
        if self.use_apl and self.apl_width % APL_HEADS:
            raise ValueError(f"apl_width {self.apl_width} must be divisible by the APL's {APL_HEADS} attention heads")
        if self.hpd_frames % 2 == 0:
            raise ValueError("hpd_frames must be odd (the centre frame is the output)")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict, source: str = "the checkpoint") -> "ModelConfig":
        """Rebuild from a checkpoint's JSON; unknown keys, a newer version or a bad value are one
        CheckpointError sentence naming `source` (e.g. "checkpoint x.safetensors")."""
        if not isinstance(data, dict):
            raise CheckpointError(f"The model config of {source} is not a JSON object.")
        version = data.get("version", CONFIG_VERSION)
        if _is_int(version) and version > CONFIG_VERSION:
            raise CheckpointError(f"The model config of {source} was written by a newer engine "
                                  f"(config version {short_repr(version)}, this engine reads {CONFIG_VERSION}).")
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise CheckpointError(f"The model config of {source} has unknown fields: "
                                  f"{', '.join(short_repr(k) for k in sorted(unknown))}.")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"The model config of {source} is invalid: {exc}.") from exc

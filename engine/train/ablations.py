"""The paper's ablations as `ModelConfig` overrides, so every variant trains through one code path."""

ABLATIONS: dict[str, dict] = {
    "full": {},
    "denoiser-only": {"use_apl": False, "use_sre": False, "hpd_frames": 1},
    "no-apl": {"use_apl": False},
    "no-sre": {"use_sre": False},
    "no-hpd": {"hpd_frames": 1},
    "random-prompts": {"prompt_mode": "random"},
    "baseline-regression": {"use_apl": False, "use_sre": False, "hpd_frames": 1, "diffusion": False},
}

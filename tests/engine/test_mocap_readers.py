"""ASF/AMC and Li et al. motion-prediction readers (engine/train/asf_amc.py, expmap_cmu.py).

A tiny hand-written ASF/AMC checks the FK conventions against positions worked out by hand; the
real CMU files in ../shared/data/mocap/cmu-extra (skipped when absent) check units, bone lengths,
Y up and the H36M-17 mappings.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from engine_support import require_shared
from engine.skeleton import JOINT_NAMES
from engine.train import asf_amc, expmap_cmu
from engine.train.bvh import MocapError, read_bvh

J = {n: i for i, n in enumerate(JOINT_NAMES)}
UNIT = 0.0254 / 0.45          # metres per CMU ASF unit


def extra(*parts: str) -> Path:
    return require_shared("data", "mocap", "cmu-extra", *parts)


# --- a hand-checked skeleton --------------------------------------------------------------------

TINY_ASF = """\
# a comment line, tolerated anywhere
:version 1.10
:name TINY
:units
  mass 1.0
  length 0.45
  angle deg
:documentation
   three bones
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name a
     direction 0 1 0
     length 2
     axis 0 0 0 XYZ
    dof rx ry rz
    limits (-180.0 180.0)
           (-180.0 180.0)
           (-180.0 180.0)
  end
  begin
     id 2
     name b
     direction 1 0 0
     length 1
     axis 0 0 90 XYZ
    dof rx
    limits (-180.0 180.0)
  end
  begin
     id 3
     name c
     direction 0 0 1
     length 3
     axis 0 0 0 XYZ
  end
:hierarchy
  begin
    root a c
    a b
  end
"""

# Frame 1: rest. Frame 2: root moved to (1, 2, 3) and turned 90 deg about Y, a twisted 90 deg about
# its z, b bent 90 deg about its x. Frame 3: root rx = ry = 90 (checks the root's Rz Ry Rx order).
TINY_AMC = """\
# comment
:FULLY-SPECIFIED
:DEGREES
1
root 0 0 0 0 0 0
a 0 0 0
b 0
2
root 1 2 3 0 90 0
a 0 0 90
b 90
3
root 0 0 0 90 90 0
a 0 0 0
b 0
"""

# Worked out by hand (ASF units), columns: root, a_end, b_end, c_end. Ry(90): x -> -z, z -> x.
# Frame 1: bones along their directions: a_end = (0,2,0), b_end = a_end + (1,0,0), c_end = (0,0,3).
# Frame 2: R_root = Ry(90). a: L = C M C^-1 = Rz(90) (C = I); a's vector (0,2,0) -> Rz(90) -> (-2,0,0)
#   -> Ry(90) -> (0,0,2): a_end = (1,2,3) + (0,0,2) = (1,2,5).
#   b: C = Rz(90), so rx turns about C x = world y: L = Ry(90); R_b = Ry(90) Rz(90) Ry(90);
#   (1,0,0) -> Ry(90) -> (0,0,-1) -> Rz(90) -> (0,0,-1) -> Ry(90) -> (-1,0,0): b_end = (0,2,5).
#   c (no dof) turns with the root: (0,0,3) -> (3,0,0): c_end = (4,2,3).
# Frame 3: R_root = Rz Ry Rx = Ry(90) Rx(90). a: (0,2,0) -> Rx(90) -> (0,0,2) -> Ry(90) -> (2,0,0);
#   b: (1,0,0) -> Rx(90) -> (1,0,0) -> Ry(90) -> (0,0,-1): b_end = (2,0,-1);
#   c: (0,0,3) -> Rx(90) -> (0,-3,0) -> Ry(90) -> (0,-3,0). (Rz Rx Ry would give c_end = (3,0,0).)
EXPECTED = np.array([
    [[0, 0, 0], [0, 2, 0], [1, 2, 0], [0, 0, 3]],
    [[1, 2, 3], [1, 2, 5], [0, 2, 5], [4, 2, 3]],
    [[0, 0, 0], [2, 0, 0], [2, 0, -1], [0, -3, 0]],
], dtype=float)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def tiny(tmp_path):
    return _write(tmp_path / "tiny.asf", TINY_ASF), _write(tmp_path / "tiny.amc", TINY_AMC)


def test_asf_parse(tiny):
    asf = asf_amc.read_asf(tiny[0])
    assert asf.order == ["a", "c", "b"] and asf.parent == {"a": "root", "c": "root", "b": "a"}
    assert asf.root_order == ["TX", "TY", "TZ", "RX", "RY", "RZ"] and asf.root_axis == "XYZ"
    b = asf.bones["b"]
    assert (b.id, b.length, b.dof, b.axis_order, b.limits) == (2, 1.0, ["rx"], "XYZ", [(-180.0, 180.0)])
    np.testing.assert_allclose(b.axis, [0, 0, 90])
    assert len(asf.bones["a"].limits) == 3 and asf.bones["c"].dof == []
    assert asf.metres_per_unit == pytest.approx(0.0564444, rel=1e-5)


def test_fk_matches_hand_computed_pose(tiny):
    asf = asf_amc.read_asf(tiny[0])
    amc = asf_amc.read_amc(tiny[1], asf)
    assert amc.num_frames == 3 and amc.degrees
    names, pos = asf_amc.forward_kinematics(asf, amc)
    assert names == ["root", "a_end", "c_end", "b_end"]
    got = pos[:, [0, 1, 3, 2]] / UNIT
    np.testing.assert_allclose(got, EXPECTED, atol=1e-12)
    # A virtual site hangs from a bone's start and turns with it: b starts at a_end; in frame 2 its
    # rotation Ry(90) Rz(90) Ry(90) takes (0,1,0) to (0,0,1), so the site is at (1,2,5) + (0,0,1).
    p = asf_amc.pose(asf, amc)
    start, rot = p.frames["b"]
    np.testing.assert_allclose(start[1] + rot[1] @ [0, 1, 0], [1, 2, 6], atol=1e-12)


# --- parsing errors: one sentence naming the file -------------------------------------------------

def _one_sentence(exc: pytest.ExceptionInfo, path: Path) -> str:
    msg = str(exc.value)
    assert str(path) in msg and msg.endswith(".") and "\n" not in msg
    assert msg.count(". ") == 0, msg
    return msg


def test_amc_errors(tiny, tmp_path):
    asf = asf_amc.read_asf(tiny[0])
    cut = _write(tmp_path / "cut.amc", TINY_AMC[:TINY_AMC.rindex("a 0 0 0")])
    with pytest.raises(MocapError) as exc:
        asf_amc.read_amc(cut, asf)
    assert "truncated" in _one_sentence(exc, cut)
    mid_line = _write(tmp_path / "midline.amc", TINY_AMC.rstrip()[:-2])   # last line "b 0" -> "b"
    with pytest.raises(MocapError) as exc:
        asf_amc.read_amc(mid_line, asf)
    assert "truncated" in _one_sentence(exc, mid_line)
    unknown = _write(tmp_path / "unknown.amc", TINY_AMC.replace("b 90", "elbow 90"))
    with pytest.raises(MocapError) as exc:
        asf_amc.read_amc(unknown, asf)
    assert "'elbow'" in _one_sentence(exc, unknown)
    empty = _write(tmp_path / "empty.amc", ":FULLY-SPECIFIED\n:DEGREES\n")
    with pytest.raises(MocapError) as exc:
        asf_amc.read_amc(empty, asf)
    _one_sentence(exc, empty)
    gz = tmp_path / "broken.amc.gz"
    gz.write_bytes(gzip.compress(TINY_AMC.encode())[:-12])
    with pytest.raises(MocapError) as exc:
        asf_amc.read_amc(gz, asf)
    assert str(gz) in str(exc.value)


@pytest.mark.parametrize("old, new, words", [
    ("    a b\n", "    a elbow\n", "'elbow'"),                         # hierarchy names an unknown bone
    ("     length 1\n", "", "lacks length"),                            # bone without a length
    ("direction 0 0 1", "direction 0 0 x", "malformed"),                # not a number
    ("    dof rx\n", "    dof tx\n", "'tx'"),                           # unsupported dof
    ("    a b\n", "", "not connected"),                                 # orphan bone
    (":bonedata", ":nodata", "no :bonedata"),
])
def test_bad_asf(tmp_path, old, new, words):
    assert old in TINY_ASF
    path = _write(tmp_path / "bad.asf", TINY_ASF.replace(old, new))
    with pytest.raises(MocapError) as exc:
        asf_amc.read_asf(path)
    assert words in _one_sentence(exc, path)


def test_bad_expmap_file(tmp_path):
    path = _write(tmp_path / "bad.txt", "1,2,3\n4,5,6\n")
    with pytest.raises(MocapError) as exc:
        expmap_cmu.read_rows(path)
    assert "truncated or malformed" in _one_sentence(exc, path)


def test_expmap_rotation_matches_rodrigues():
    r = expmap_cmu.expmap_to_rotmat(np.array([[0.0, np.pi / 2, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(r[0], [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], atol=1e-7)
    np.testing.assert_allclose(r[1], np.eye(3))


# --- real CMU ASF/AMC ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def subject01():
    folder = extra("asfamc", "01")
    asf = asf_amc.read_asf(folder / "01.asf.gz")
    return asf, asf_amc.read_amc(folder / "01_02.amc.gz", asf)


def test_subject01_bone_lengths_units_and_up(subject01):
    asf, amc = subject01
    names, pos = asf_amc.forward_kinematics(asf, amc)
    assert pos.shape == (amc.num_frames, 31, 3) and np.isfinite(pos).all()
    i = {n: k for k, n in enumerate(names)}
    starts = {b: i["root"] if asf.parent[b] == "root" else i[asf.parent[b] + "_end"] for b in asf.order}
    for bone in asf.order:                       # every bone keeps its ASF length in every frame
        length = np.linalg.norm(pos[:, i[bone + "_end"]] - pos[:, starts[bone]], axis=-1)
        np.testing.assert_allclose(length, asf.bones[bone].length * UNIT, rtol=1e-9, atol=1e-12)
    for bone in ("lfemur", "rfemur", "ltibia", "rtibia"):
        assert 0.3 < asf.bones[bone].length * UNIT < 0.6, bone
    head, ankles = pos[0, i["head_end"], 1], pos[0, [i["ltibia_end"], i["rtibia_end"]], 1]
    assert head - ankles.max() > 1.3                 # frame 1 stands: head 1.5 m above the ankles
    up = pos[:, i["head_end"], 1] - pos[:, [i["ltibia_end"], i["rtibia_end"]], 1].max(axis=1)
    assert np.median(up) > 1.0


def test_every_amc_parses_with_index_frame_counts():
    root = extra()
    asfs = {}
    rows = [r for r in csv.DictReader((root / "index.csv").open()) if r["format"] == "amc"]
    assert len(rows) == 12
    for row in rows:
        path = root / row["file"]
        subject = path.parent / f"{path.parent.name}.asf.gz"     # 11.asf has a comment line
        asf = asfs.setdefault(subject, asf_amc.read_asf(subject))
        assert asf_amc.read_amc(path, asf).num_frames == int(row["frames"]), row["file"]


def test_rest_pose_faces_plus_z_with_left_on_plus_x(subject01):
    asf, amc = subject01
    rest = asf_amc.Amc("rest", {b: np.zeros((1, v.shape[1])) for b, v in amc.values.items()}, True)
    mapping = json.loads((asf_amc.MAPS_DIR / "cmu_asf.json").read_text())
    j = asf_amc.apply_mapping(mapping, asf_amc.pose(asf, rest), "rest", "AMC")[0]
    assert j[J["left_hip"], 0] > j[J["right_hip"], 0] and j[J["left_shoulder"], 0] > j[J["right_shoulder"], 0]
    assert j[J["neck"], 2] > j[J["thorax"], 2] + 0.05          # the nose is in front (+Z)
    assert j[J["head"], 1] > j[J["neck"], 1] > j[J["thorax"], 1] > j[J["spine"], 1] > j[J["pelvis"], 1]


# --- Li et al. motion-prediction files -----------------------------------------------------------

def test_expmap_bone_lengths_match_skeleton_json():
    skeleton = extra("motion-prediction", "skeleton.json")
    names, parents, offsets = expmap_cmu.load_skeleton(str(skeleton))
    path = extra("motion-prediction", "train", "running", "running_1.txt.gz")
    got_names, pos, fps = expmap_cmu.read_expmap(path)
    assert got_names == list(names) and fps == 120.0 and pos.shape[1:] == (38, 3)
    child = np.arange(1, 38)
    length = np.linalg.norm(pos[:, child] - pos[:, parents[child]], axis=-1)
    expected = np.linalg.norm(offsets[child], axis=-1) * UNIT
    np.testing.assert_allclose(length, np.broadcast_to(expected, length.shape), rtol=1e-6, atol=1e-12)
    femur = np.linalg.norm(offsets[names.index("ltibia")]) * UNIT
    assert 0.3 < femur < 0.6


def test_expmap_drops_the_tpose_row_and_follows_row_vector_fk(tmp_path):
    path = extra("motion-prediction", "test", "walking", "walking_1.txt.gz")
    _, with_ref, _ = expmap_cmu.read_expmap(path, keep_reference=True)
    _, kept, _ = expmap_cmu.read_expmap(path)
    assert len(kept) == len(with_ref) - 1 == len(expmap_cmu.read_rows(path)) - 1
    np.testing.assert_allclose(kept, with_ref[1:])
    assert np.abs(kept[0] - with_ref[0]).max() > 0.05          # the reference pose is not frame 1
    # One synthetic frame: root at (1,2,3) units, turned by the exp-map (0, pi/2, 0), all else 0.
    # Row vectors: p = offset @ E(r) = E(r)^T offset = Ry(-90) offset, i.e. (x,y,z) -> (-z,y,x).
    row = np.zeros(117)
    row[:5] = [1, 2, 3, 0, np.pi / 2]
    txt = _write(tmp_path / "one.txt", "\n".join(",".join(map(repr, r)) for r in (np.zeros(117), row)) + "\n")
    names, pos, _ = expmap_cmu.read_expmap(txt, skeleton=extra("motion-prediction", "skeleton.json"))
    x, y, z = 1.65674, -1.80282, 0.62477                      # lfemur's offset_asf_units (left hip)
    np.testing.assert_allclose(pos[0, names.index("lfemur")] / UNIT, [1 - z, 2 + y, 3 + x], atol=1e-6)


# --- H36M-17 mappings ----------------------------------------------------------------------------

def _check_h36m(joints: np.ndarray, tag: str, shoulders_m: tuple[float, float] = (0.25, 0.5)) -> None:
    assert joints.ndim == 3 and joints.shape[1:] == (17, 3) and np.isfinite(joints).all(), tag
    leg = (np.linalg.norm(joints[:, J["left_hip"]] - joints[:, J["left_ankle"]], axis=-1)
           + np.linalg.norm(joints[:, J["right_hip"]] - joints[:, J["right_ankle"]], axis=-1)) / 2
    shoulders = np.linalg.norm(joints[:, J["left_shoulder"]] - joints[:, J["right_shoulder"]], axis=-1)
    hips = np.linalg.norm(joints[:, J["left_hip"]] - joints[:, J["right_hip"]], axis=-1)
    assert 0.7 < leg.max() < 1.0 and shoulders_m[0] < shoulders.mean() < shoulders_m[1] and 0.1 < hips.mean() < 0.3, tag
    np.testing.assert_allclose(joints[:, J["pelvis"]], (joints[:, J["left_hip"]] + joints[:, J["right_hip"]]) / 2)
    # Left hip and left shoulder on the same side of the body...
    hip_lr = joints[:, J["left_hip"]] - joints[:, J["right_hip"]]
    same = np.einsum("td,td->t", hip_lr, joints[:, J["left_shoulder"]] - joints[:, J["right_shoulder"]]) > 0
    assert same.mean() > 0.95, tag
    # ...and that side is the person's left: facing = horizontal thorax -> nose, Y up, right = facing x up.
    facing = joints[:, J["neck"]] - joints[:, J["thorax"]]
    facing[:, 1] = 0
    right = np.cross(facing, [0.0, 1.0, 0.0])
    assert (np.einsum("td,td->t", hip_lr, right) < 0).mean() > 0.9, tag
    # Y up: head top above the pelvis above the ankles in most frames.
    upright = (joints[:, J["head"], 1] > joints[:, J["pelvis"], 1]) & (
        joints[:, J["pelvis"], 1] > joints[:, [J["left_ankle"], J["right_ankle"]], 1].max(axis=1))
    assert upright.mean() > 0.7, tag


def test_amc_h36m_mapping(subject01):
    asf, _ = subject01
    for trial in ("01_02", "01_13"):
        joints, fps = asf_amc.read_amc_h36m(asf, extra("asfamc", "01", f"{trial}.amc.gz"))
        assert fps == 120.0
        _check_h36m(joints, trial)
    joints, _ = asf_amc.read_amc_h36m(extra("asfamc", "11", "11.asf.gz"), extra("asfamc", "11", "11_01.amc.gz"))
    _check_h36m(joints, "11_01")


def test_expmap_h36m_mapping():
    for rel in ("train/running/running_1.txt.gz", "test/walking/walking_1.txt.gz"):
        path = extra("motion-prediction", *rel.split("/"))
        joints, fps = expmap_cmu.read_expmap_h36m(path)
        assert fps == 120.0 and len(joints) == len(expmap_cmu.read_rows(path)) - 1
        _check_h36m(joints, rel)


@pytest.mark.parametrize("trial, skeleton", [("60_01", "cgspeed_daz43"), ("135_04", "cgspeed_daz43"),
                                             ("08_05", "cgspeed_mb31"), ("131_03", "cgspeed_max31")])
def test_cgspeed_bvh_maps_to_h36m(trial, skeleton):
    """cgspeed's three BVH conversions of CMU (dance, karate, walks) read through their built-in
    mappings: units to metres (DAZ centimetres, the others ASF units), the T-pose frame 0 dropped,
    and the same checks as the other CMU readers. The DAZ figure is one generic body whose arms
    start 11.5 cm from its midline (shoulders 0.23 m apart)."""
    from engine.train.mocap_dataset import cmu_extra_clip, read_cmu_extra_index
    from engine.train.skeleton_maps import detect_builtin, resolve_mapping, to_h36m

    path = extra("cgspeed", f"{trial}.bvh.gz")
    bvh = read_bvh(path)
    assert detect_builtin(bvh.names) == skeleton
    _check_h36m(to_h36m(bvh, resolve_mapping(bvh.names), slice(1, None, 4)), trial,
                (0.2, 0.5) if skeleton == "cgspeed_daz43" else (0.25, 0.5))
    clip = cmu_extra_clip(path, extra().parent, 30.0, read_cmu_extra_index(extra("index.csv")))
    assert len(clip.joints) == len(range(1, bvh.num_frames, 4))      # 120 -> 30 fps, frame 0 dropped
    if trial == "60_01":
        assert clip.action == "dance-long"

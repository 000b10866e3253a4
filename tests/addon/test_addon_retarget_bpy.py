"""Retargeting for an animator to keep (issue #18), in the real bpy 5.0.1 module: bones that keep
their length whatever the result's bone lengths do, the Rigify metarig's feet and hands mapped,
and the rig standing on the result's floor."""

from __future__ import annotations

import math

import numpy as np
import pytest

import addon_synth
from addon_rigs import build_mixamo_rig, posed_heads_tails, rigify_metarig

pytestmark = pytest.mark.bpy

J = addon_synth.J


def _lift_onto(bpy, rig, path, mapping):
    s = bpy.context.scene.dreampose3d
    s.input_path, s.target, s.armature, s.mapping = str(path), "EXISTING", rig, mapping
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"}, bpy.context.window_manager.dreampose3d_run.last_error


def _turning_walk(frames=90, degrees=90.0):
    """The walk, turning left about the vertical by `degrees` over the clip."""
    joints = addon_synth.walking_joints(frames).astype(np.float64)
    ang = np.radians(np.linspace(0.0, degrees, frames))
    c, s = np.cos(ang), np.sin(ang)
    out = joints.copy()
    out[..., 0] = c[:, None] * joints[..., 0] - s[:, None] * joints[..., 1]
    out[..., 1] = s[:, None] * joints[..., 0] + c[:, None] * joints[..., 1]
    return out


@pytest.mark.parametrize("rig_kind", ["rigify_metarig", "mixamo"])
def test_bones_keep_their_length_when_the_results_bone_lengths_vary(registered, tmp_path, rig_kind):
    bpy = registered
    joints = addon_synth.vary_bone_lengths(addon_synth.walking_joints(60, seed=3), 0.05, seed=1)
    src = np.linalg.norm(joints[:, 1:] - joints[:, list(addon_synth.PARENTS[1:])], axis=-1)
    assert (src.std(axis=0) / src.mean(axis=0)).min() > 0.02  # the input really varies, by about +-5 %
    path = tmp_path / "varying.npz"
    addon_synth.result_from_joints(joints).save(path)
    rig = rigify_metarig(bpy) if rig_kind == "rigify_metarig" else build_mixamo_rig(bpy)
    _lift_onto(bpy, rig, path, rig_kind if rig_kind == "rigify_metarig" else "AUTO")
    poses = [posed_heads_tails(bpy, rig, frame) for frame in range(1, 61, 3)]
    lengths = np.array([[np.linalg.norm(t - h) for h, t in pose.values()] for pose in poses])
    assert lengths.shape[1] == len(rig.pose.bones) and lengths.shape[1] >= 20
    assert lengths.std(axis=0).max() < 1e-3  # metres, every bone of the rig
    knee = "thigh.L" if rig_kind == "rigify_metarig" else "mixamorig:LeftUpLeg"
    assert np.ptp([pose[knee][1] for pose in poses], axis=0).max() > 0.2  # and the rig does walk


def test_the_metarig_feet_stay_level_and_face_where_the_body_faces(registered, tmp_path):
    """The skeleton has no toes: the feet keep their rest tilt to the floor and turn with the legs,
    here through a 90 degree turn; the hands follow the forearms."""
    from addon.blender import keyframes, retarget_rig

    bpy = registered
    joints = _turning_walk()
    path = tmp_path / "turn.npz"
    addon_synth.result_from_joints(joints).save(path)
    rig = rigify_metarig(bpy)
    rest = {n: (np.array(rig.data.bones[n].head_local), np.array(rig.data.bones[n].tail_local))
            for n in ("foot.L", "foot.R")}
    _lift_onto(bpy, rig, path, "rigify_metarig")
    keyed = {fc.data_path for fc in keyframes.fcurves_of(rig)}
    for bone in ("foot.L", "foot.R", "hand.L", "hand.R"):
        assert f'pose.bones["{bone}"].rotation_quaternion' in keyed, bone
    mapping = retarget_rig.mapping_for(rig, "rigify_metarig")
    assert mapping.bones["hand.L"] == (J["left_elbow"], J["left_wrist"])

    def tilt(v):
        return math.degrees(math.atan2(-v[2], np.linalg.norm(v[:2])))

    def heading(v):
        return math.degrees(math.atan2(v[1], v[0]))

    worst_tilt = worst_heading = worst_hand = 0.0
    for frame in range(1, 91, 4):
        pose = posed_heads_tails(bpy, rig, frame)
        p = joints[frame - 1]
        hips = p[J["left_hip"]] - p[J["right_hip"]]
        body_forward = np.array([hips[1], -hips[0], 0.0])  # hip line turned -90 degrees: forward, seen from above
        for name in ("foot.L", "foot.R"):
            head, tail = pose[name]
            rest_dir = rest[name][1] - rest[name][0]
            worst_tilt = max(worst_tilt, abs(tilt(tail - head) - tilt(rest_dir)))
            d = abs(heading(tail - head) - heading(body_forward)) % 360
            worst_heading = max(worst_heading, min(d, 360 - d))
        for side in ("left", "right"):
            head, tail = pose[f"hand.{side[0].upper()}"]
            seg = p[J[f"{side}_wrist"]] - p[J[f"{side}_elbow"]]
            cos = np.dot(tail - head, seg) / np.linalg.norm(tail - head) / np.linalg.norm(seg)
            worst_hand = max(worst_hand, math.degrees(math.acos(np.clip(cos, -1, 1))))
    assert worst_tilt < 1.0 and worst_heading < 12.0 and worst_hand < 1.0, (worst_tilt, worst_heading, worst_hand)


@pytest.mark.parametrize("rig_kind", ["rigify_metarig", "mixamo"])
def test_the_retargeted_rig_stands_on_the_results_floor(registered, walk_npz, rig_kind):
    """The rig stands on its soles on the result's floor (z = 0, where the engine puts the ankle
    joints of a planted foot): per frame, its lowest posed point (a heel or toe), median over the
    clip, within 2 cm of the floor (the metarig floated about 11 cm; ankles on the floor would have
    sunk its feet about 8 cm)."""
    from addon.core import result_io

    bpy = registered
    rig = rigify_metarig(bpy) if rig_kind == "rigify_metarig" else build_mixamo_rig(bpy)
    _lift_onto(bpy, rig, walk_npz, rig_kind if rig_kind == "rigify_metarig" else "AUTO")
    res = result_io.load_result(walk_npz)
    lows, result_lows = [], []
    for frame in range(1, 91, 2):
        pose = posed_heads_tails(bpy, rig, frame)
        lows.append(min(min(head[2], tail[2]) for head, tail in pose.values()))
        result_lows.append(res.joints_world[frame - 1, [J["left_ankle"], J["right_ankle"]], 2].min())
    assert abs(np.median(np.array(lows) - np.array(result_lows))) < 0.02, np.median(lows)

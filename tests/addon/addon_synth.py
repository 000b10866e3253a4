"""A plausible walking clip as an engine `LiftResult`, for add-on tests that run without the model.

Uses the engine package (fine in tests; the add-on itself never imports it). The walker faces -Y,
walks towards -Y at 1.2 m/s, swings legs and arms, bends knees and elbows, and its bone lengths
wobble by about 1 % per frame like the engine's output does.
"""

from __future__ import annotations

import numpy as np

from engine.frames import blender_to_camera
from engine.sequence import LiftResult
from engine.skeleton import JOINT_NAMES, PARENTS

J = {n: i for i, n in enumerate(JOINT_NAMES)}


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def walking_joints(frames: int = 90, fps: float = 30.0, seed: int = 0) -> np.ndarray:
    """(T, 17, 3) Blender-world joints of a walk: metres, Z up, facing -Y, feet near z = 0."""
    rng = np.random.default_rng(seed)
    t = np.arange(frames) / fps
    phase = 2 * np.pi * 1.0 * t  # one stride per second
    out = np.zeros((frames, 17, 3))
    for f in range(frames):
        swing = 0.45 * np.sin(phase[f])
        pelvis = np.array([0.02 * np.sin(phase[f]), -1.2 * t[f], 0.93 + 0.02 * np.cos(2 * phase[f])])
        p = {"pelvis": pelvis}
        p["right_hip"] = pelvis + [-0.13, 0, -0.02]
        p["left_hip"] = pelvis + [0.13, 0, -0.02]
        for side, sgn in (("right", 1), ("left", -1)):
            a = sgn * swing  # thigh angle, forward = towards -Y
            knee_bend = 0.15 + 0.5 * max(0.0, np.sin(phase[f] + (0 if sgn > 0 else np.pi) + 1.2))
            thigh = _rot_x(a) @ [0, 0, -0.45]
            shin = _rot_x(a - knee_bend) @ [0, 0, -0.44]
            p[f"{side}_knee"] = p[f"{side}_hip"] + thigh
            p[f"{side}_ankle"] = p[f"{side}_knee"] + shin
            arm = _rot_x(-a * 0.8) @ [0, 0, -0.28]
            fore = _rot_x(-a * 0.8 + 0.4) @ [0, 0, -0.26]
            p[f"{side}_shoulder"] = None
        p["spine"] = pelvis + [0, -0.01, 0.23]
        p["thorax"] = p["spine"] + [0, 0.0, 0.25]
        p["neck"] = p["thorax"] + [0, -0.06, 0.11]
        p["head"] = p["neck"] + [0, 0.02, 0.12]
        for side, sgn in (("right", 1), ("left", -1)):
            a = sgn * swing
            p[f"{side}_shoulder"] = p["thorax"] + [-0.17 * sgn, 0, -0.02]
            arm = _rot_x(-a * 0.8) @ [0.03 * -sgn, 0, -0.28]
            fore = _rot_x(-a * 0.8 - 0.4) @ [0, 0, -0.26]
            p[f"{side}_elbow"] = p[f"{side}_shoulder"] + arm
            p[f"{side}_wrist"] = p[f"{side}_elbow"] + fore
        out[f] = np.array([p[n] for n in JOINT_NAMES])
    # per-frame bone-length wobble of ~1 %, applied down the tree
    noisy = out.copy()
    for j in range(1, 17):
        scale = 1 + 0.01 * rng.standard_normal(frames)
        seg = out[:, j] - out[:, PARENTS[j]]
        noisy[:, j] = noisy[:, PARENTS[j]] + seg * scale[:, None]
    noisy[..., 2] -= noisy[:, [J["left_ankle"], J["right_ankle"]], 2].min()
    return noisy.astype(np.float32)


def walking_result(frames: int = 90, fps: float = 30.0, seed: int = 0) -> LiftResult:
    world = walking_joints(frames, fps, seed)
    cam = blender_to_camera(world - world[:, :1])
    names = ["walking", "waving", "sitting"]
    probs = np.zeros((frames, 3), dtype=np.float32)
    half = frames // 2
    probs[:half, 0] = 0.9
    probs[half:, 1] = 0.8
    probs[probs.sum(1) == 0, 2] = 1.0
    probs /= probs.sum(1, keepdims=True)
    prompt = ["a person walking"] * half + ["a person waving"] * (frames - half)
    meta = {"engine_version": "test", "checkpoint": "synthetic", "input_format": "synthetic"}
    return LiftResult(cam.astype(np.float32), world, fps, names, probs.astype(np.float32), prompt, meta)


def write_walking_result(path, frames: int = 90, fps: float = 30.0, seed: int = 0) -> str:
    walking_result(frames, fps, seed).save(path)
    return str(path)


def vary_bone_lengths(joints: np.ndarray, amount: float, seed: int = 0) -> np.ndarray:
    """`joints` with every bone's length scaled per frame by a uniform factor in 1 +- amount (an
    older engine's output, before it made the bone lengths constant), re-grounded."""
    rng = np.random.default_rng(seed)
    out = np.array(joints, dtype=np.float64, copy=True)
    for j in range(1, 17):
        scale = 1 + rng.uniform(-amount, amount, len(out))
        out[:, j] = out[:, PARENTS[j]] + (joints[:, j] - joints[:, PARENTS[j]]) * scale[:, None]
    out[..., 2] -= out[:, [J["left_ankle"], J["right_ankle"]], 2].min()
    return out.astype(np.float32)


def result_from_joints(world: np.ndarray, fps: float = 30.0, **extra) -> LiftResult:
    """A LiftResult around Blender-world joints, one action, with optional frame_flags/contacts/meta."""
    frames = len(world)
    cam = blender_to_camera(world - world[:, :1])
    meta = {"engine_version": "test", "checkpoint": "synthetic", "input_format": "synthetic", **extra.pop("meta", {})}
    return LiftResult(cam.astype(np.float32), world.astype(np.float32), fps, ["walking"],
                      np.ones((frames, 1), np.float32),
                      ["a person walking"] * frames, meta, **extra)


# The gaps of `gappy_result`: frame indices (first, last), inclusive.
GAPPY_FRAMES = 300
GAPPY_INTERPOLATED = (12, 14)
GAPPY_HELD = (170, 229)
GAPPY_SEGMENTS = [[0, 119], [120, 299]]


def gappy_result(frames: int = GAPPY_FRAMES) -> LiftResult:
    """The walk with what issue #18's engine writes: a short interpolated gap, a long held one (the
    last detected pose repeated), identity segments in meta, and foot contacts from ankle height."""
    world = walking_joints(frames).astype(np.float64)
    s, e = GAPPY_HELD
    world[s:e + 1] = world[s - 1]
    flags = np.zeros(frames, np.uint8)
    flags[GAPPY_INTERPOLATED[0]:GAPPY_INTERPOLATED[1] + 1] = 1
    flags[s:e + 1] = 2
    contacts = world[:, [J["left_ankle"], J["right_ankle"]], 2] < 0.04
    gaps = {"interpolated": [list(GAPPY_INTERPOLATED)], "held": [list(GAPPY_HELD)]}
    return result_from_joints(world, frame_flags=flags, contacts=contacts,
                              meta={"gaps": gaps, "segments": GAPPY_SEGMENTS})


def snapshot(bpy) -> dict:
    """What a failed or cancelled run must leave unchanged in the scene (armatures: their action
    and custom properties too, for a run onto an existing one; which actions have a fake user; the
    active and selected objects)."""
    scene = bpy.context.scene

    def armature_state(o):
        ad = o.animation_data
        return (ad.action.name if ad and ad.action else None, sorted(o.keys()),
                [str(v) for v in o.get("dreampose3d_markers", [])],
                sorted((pb.name, pb.rotation_mode) for pb in o.pose.bones))

    return {
        "objects": sorted(o.name for o in bpy.data.objects),
        "armatures": sorted(a.name for a in bpy.data.armatures),
        "actions": sorted((a.name, a.use_fake_user) for a in bpy.data.actions),
        "selection": (getattr(bpy.context.view_layer.objects.active, "name", None),
                      sorted(o.name for o in bpy.context.view_layer.objects if o.select_get())),
        "markers": sorted((m.name, m.frame) for m in scene.timeline_markers),
        "range": (scene.frame_start, scene.frame_end, scene.render.fps),
        "prompts": list(scene.get("dreampose3d_prompts", [])),
        "armature_state": {o.name: armature_state(o) for o in bpy.data.objects if o.type == "ARMATURE"},
    }


def lift_in_panel(bpy, path, **settings) -> None:
    """Set the panel's input (and any other settings) and run the Lift operator to its end."""
    s = bpy.context.scene.dreampose3d
    s.input_path = str(path)
    for key, value in settings.items():
        setattr(s, key, value)
    assert bpy.ops.dreampose3d.lift() == {"FINISHED"}, bpy.context.window_manager.dreampose3d_run.last_error

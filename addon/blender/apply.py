"""Put a lift result into the scene: one function the operator and the batch script share.

Everything is computed first (core.rig_solver, core.retarget, core.timeline); Blender data is
created next (the rig or its new action, the contact keys and spheres, the new markers), and only
then is what an earlier run left for the same armature replaced (its markers and contact
spheres). A result lifted from a video also brings its footage (`footage.add`): the video as the
camera's background, frame for frame, and a camera matching the lift. The scene's fps and range
change only when asked (`set_scene_range`), and a new rig ends up the active and only selected
object. If anything fails on the way, `rollback.Rollback` (and `footage.Undo`) puts the scene
back, so it is either fully updated or untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from ..core import retarget, rig_solver, timeline
from ..core.errors import InputError
from ..core.result_io import Result
from ..core.skeleton import JOINT_NAMES, joint
from . import armature_build, contacts, footage, markers, retarget_rig
from .rollback import SCENE_PROMPTS, Rollback

ANKLES = (joint("left_ankle"), joint("right_ankle"))
# In the panel's words (the labels of `properties.DREAMPOSE3D_PG_settings`; a test holds them equal).
NO_ARMATURE = "Choose an Armature for the Existing armature target, or set Target to New armature."


@dataclass
class ApplyOptions:
    target: str = "NEW"           # "NEW" generated rig, or "EXISTING" armature
    armature: object = None       # bpy Object for EXISTING
    mapping: str = "AUTO"         # preset id (file stem) or AUTO
    root_motion: bool = True
    foot_cleanup: bool = False
    frame_start: int = 1
    markers: bool = True
    set_scene_range: bool = True  # the scene's fps and frame range become the clip's ("Match scene fps and range")
    name: str = "DreamPose3D"
    preset_dir: str | None = None
    contact_overlay: bool = False  # sphere empties at the ankles, shown on contact frames
    # A result lifted from a video: the video as the camera's background, and a camera matching the
    # lift. None: the scene's settings ("Footage as camera background", "Camera matching the lift").
    footage_background: bool | None = None
    footage_camera: bool | None = None


@dataclass
class Applied:
    armature: object
    keys: int
    motion: rig_solver.RigMotion
    markers: int
    overlay: list  # the contact spheres made (empty without the overlay)
    footage: footage.Added = None  # the video's clip and camera (results lifted from a video)


def check_target(opts: ApplyOptions) -> None:
    """Refuse a target that cannot take the motion: no armature chosen, or one no mapping preset
    fits. The Lift operator calls this before it starts the engine, so a wrong target costs no
    engine run; `apply_result` calls it again for every other caller."""
    if opts.target != "EXISTING":
        return
    if opts.armature is None or getattr(opts.armature, "type", None) != "ARMATURE":
        raise InputError(NO_ARMATURE)
    retarget_rig.mapping_for(opts.armature, opts.mapping, opts.preset_dir)


def apply_result(scene, result: Result, opts: ApplyOptions) -> Applied:
    check_target(opts)
    motion = rig_solver.solve(result.joints_world, result.fps, opts.root_motion, opts.foot_cleanup)
    existing = opts.target == "EXISTING"
    undo = Rollback(scene, opts.armature if existing else None)
    footage_undo = footage.Undo.take(scene)
    try:
        obj, keys, ankle_bones = _animate(scene, motion, opts)
        frames = opts.frame_start + np.arange(result.num_frames)
        keys += contacts.key_contacts(obj, result.contacts, frames)
        overlay = []
        if opts.contact_overlay:
            collection = obj.users_collection[0] if obj.users_collection else scene.collection
            overlay = contacts.add_overlay(obj, ankle_bones, result.contacts, frames, collection)
        new_markers = markers.add(scene, timeline.marker_specs(result, opts.frame_start)) if opts.markers else []
        # Everything new is in place: now replace what an earlier run left for this armature.
        if opts.markers:
            markers.replace(scene, obj, new_markers)
        if opts.set_scene_range:
            scene.render.fps = max(1, int(round(result.fps)))
            scene.render.fps_base = scene.render.fps / result.fps
            scene.frame_start = opts.frame_start
            scene.frame_end = opts.frame_start + result.num_frames - 1
        scene[SCENE_PROMPTS] = [f"{opts.frame_start + i}\t{text}" for i, text in result.action_segments()]
        if not existing:
            _select_only(obj)
        background, camera = _footage_choice(scene, opts)
        added = footage.add(scene, result, opts.frame_start, background, camera,
                            obj.users_collection[0] if obj.users_collection else None)
        contacts.remove_overlay(contacts.overlay_of(obj, keep=overlay))  # last: deleted objects cannot come back
    except Exception:
        undo.restore()              # first: it puts the selection back before objects go
        footage_undo.restore()
        raise
    return Applied(obj, keys, motion, len(new_markers), overlay, added)


def _footage_choice(scene, opts: ApplyOptions) -> tuple[bool, bool]:
    """(background, camera): the options when set, else the scene's settings (default on)."""
    settings = getattr(scene, "dreampose3d", None)
    background = opts.footage_background if opts.footage_background is not None else \
        bool(getattr(settings, "footage_background", True))
    camera = opts.footage_camera if opts.footage_camera is not None else bool(getattr(settings, "footage_camera", True))
    return background, camera


def _animate(scene, motion: rig_solver.RigMotion, opts: ApplyOptions):
    """(armature object, keys written, (left, right) bone ending at each ankle or None)."""
    if opts.target == "EXISTING":
        obj = opts.armature
        sol, keys = retarget_rig.retarget_onto(obj, motion, opts.mapping, opts.frame_start, opts.preset_dir)
        return obj, keys, tuple(retarget.bone_ending_at(sol.mapping, j) for j in ANKLES)
    obj = armature_build.build_armature(motion, opts.name, scene.collection)
    keys = armature_build.keyframe_motion(obj, motion, opts.frame_start)
    return obj, keys, tuple(JOINT_NAMES[j] for j in ANKLES)  # generated bones are named after their tail joint


def _select_only(obj) -> None:
    """The new rig becomes the active and only selected object: the panel's Export row offers the
    active armature, and a rig the user cannot see selected is easy to export by mistake."""
    view_layer = bpy.context.view_layer
    for other in view_layer.objects:
        if other.select_get(view_layer=view_layer):
            other.select_set(False, view_layer=view_layer)
    obj.select_set(True, view_layer=view_layer)
    view_layer.objects.active = obj


def prompt_at(scene, frame: int) -> str:
    """The predicted action prompt in effect at `frame` (from the last applied result)."""
    text = ""
    for entry in scene.get(SCENE_PROMPTS, []):
        f, _, t = str(entry).partition("\t")
        if int(f) <= frame:
            text = t
    return text

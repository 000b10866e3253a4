"""What a failed apply puts back, so that the scene is either fully updated or untouched.

`apply.apply_result` takes a `Rollback` before it changes anything and calls `restore()` if any
step fails. It covers everything an apply may change: new objects, armatures and actions (the
generated rig, the contact spheres and their actions), the timeline markers, the active and
selected objects, and, on an existing armature, its action and slot (and that action's fake user),
its pose bones' rotation modes and the add-on's custom properties; and the scene's frame range,
frame rate and prompt list.
"""

from __future__ import annotations

import bpy

from . import contacts, markers

ARMATURE_KEYS = contacts.PROPS + (markers.KEY,)  # custom properties an apply writes on the armature
SCENE_PROMPTS = "dreampose3d_prompts"


def _plain(value):
    """A custom property's value detached from Blender (ID property arrays become lists)."""
    return value.to_list() if hasattr(value, "to_list") else value


class Rollback:
    def __init__(self, scene, armature=None):
        self.scene = scene
        self.data = (set(bpy.data.objects), set(bpy.data.armatures), set(bpy.data.actions))
        self.markers = [(m.name, m.frame, m.camera, m.select) for m in scene.timeline_markers]
        self.range = (scene.frame_start, scene.frame_end, scene.render.fps, scene.render.fps_base)
        self.prompts = _plain(scene[SCENE_PROMPTS]) if SCENE_PROMPTS in scene else None
        view_layer = bpy.context.view_layer
        self.active = view_layer.objects.active
        self.selected = [o for o in view_layer.objects if o.select_get()]
        self.armature = armature
        if armature is not None:
            ad = armature.animation_data
            self.animated = ad is not None
            self.action = ad.action if ad is not None else None
            self.fake_user = self.action.use_fake_user if self.action is not None else False
            self.slot = getattr(ad, "action_slot", None) if ad is not None else None
            self.props = {k: _plain(armature[k]) for k in ARMATURE_KEYS if k in armature}
            self.rotation_modes = {pb.name: pb.rotation_mode for pb in armature.pose.bones}

    def restore(self) -> None:
        self._restore_selection()   # first: the view layer lists removed objects as None until it is updated
        self._restore_markers()
        if self.armature is not None:
            self._restore_armature(self.armature)
        objects, armatures, actions = self.data
        for ob in [o for o in bpy.data.objects if o not in objects]:
            bpy.data.objects.remove(ob)
        for arm in [a for a in bpy.data.armatures if a not in armatures]:
            bpy.data.armatures.remove(arm)
        for act in [a for a in bpy.data.actions if a not in actions]:
            bpy.data.actions.remove(act)
        s = self.scene
        s.frame_start, s.frame_end, s.render.fps, s.render.fps_base = self.range
        if self.prompts is None:
            s.pop(SCENE_PROMPTS, None)
        else:
            s[SCENE_PROMPTS] = self.prompts

    def _restore_markers(self) -> None:
        """Markers hold no identity of their own: when the list changed, it is written back whole."""
        tm = self.scene.timeline_markers
        if [(m.name, m.frame, m.camera, m.select) for m in tm] == self.markers:
            return
        tm.clear()
        for name, frame, camera, select in self.markers:
            m = tm.new(name, frame=frame)
            m.camera, m.select = camera, select

    def _restore_selection(self) -> None:
        view_layer = bpy.context.view_layer
        for ob in view_layer.objects:
            ob.select_set(ob in self.selected)
        view_layer.objects.active = self.active

    def _restore_armature(self, obj) -> None:
        if not self.animated:
            obj.animation_data_clear()
        else:
            obj.animation_data.action = self.action
            if self.slot is not None:
                obj.animation_data.action_slot = self.slot
        if self.action is not None:
            self.action.use_fake_user = self.fake_user
        for key in ARMATURE_KEYS:
            if key in self.props:
                obj[key] = self.props[key]
            elif key in obj:
                del obj[key]
        for pb in obj.pose.bones:
            if pb.name in self.rotation_modes:
                pb.rotation_mode = self.rotation_modes[pb.name]

"""The one place that knows how Blender stores keyframes.

- Blender up to 4.3: `action.fcurves` (legacy actions).
- Blender 4.4+: slotted (layered) actions; 5.0 removed `Action.fcurves`. F-curves live in a
  channelbag of a keyframe strip, for the slot the object is assigned to.

Writes are bulk (`keyframe_points.add` + `foreach_set`), never `keyframe_insert` per frame, so
1,800 frames of a rig take milliseconds.
"""

from __future__ import annotations

import bpy
import numpy as np


def has_slotted_actions() -> bool:
    return "slots" in bpy.types.Action.bl_rna.properties


def new_action(obj, name: str):
    """Create an action, assign it to `obj` (with a slot where needed); return the channel
    container whose `.fcurves.new` makes curves that animate `obj`."""
    action = bpy.data.actions.new(name)
    if obj.animation_data is None:
        obj.animation_data_create()
    obj.animation_data.action = action
    if not has_slotted_actions():
        return action, action  # legacy: the action holds the f-curves
    slot = action.slots.new(id_type=obj.id_type if hasattr(obj, "id_type") else "OBJECT", name=obj.name)
    obj.animation_data.action_slot = slot
    return action, _channelbag(action, slot)


def _channelbag(action, slot):
    try:
        from bpy_extras.anim_utils import action_ensure_channelbag_for_slot
        return action_ensure_channelbag_for_slot(action, slot)
    except ImportError:  # 4.4 without the helper
        layer = action.layers[0] if action.layers else action.layers.new("Layer")
        strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
        return strip.channelbag(slot, ensure=True)


def channels_of(obj):
    """The channel container of the action `new_action` gave `obj`, to add more curves to it
    (the contact properties next to the bones' keys)."""
    action = obj.animation_data.action
    if not has_slotted_actions():
        return action
    return _channelbag(action, obj.animation_data.action_slot)


def _new_fcurve(container, data_path: str, index: int, group: str):
    if container.__class__.__name__ == "Action" or isinstance(container, bpy.types.Action):
        return container.fcurves.new(data_path, index=index, action_group=group)
    fc = container.fcurves.new(data_path, index=index)
    grp = container.groups.get(group) or container.groups.new(group)
    fc.group = grp
    return fc


def write_channels(container, frames: np.ndarray, channels: list[tuple[str, int, str, np.ndarray]],
                   interpolation: str = "LINEAR") -> int:
    """Write keys for every channel at once.

    frames: (T,) scene frame numbers. channels: (data_path, array index, group name, (T,) values).
    Returns the number of keyframes written. Interpolation is linear by default: the data is
    sampled per frame, so Bezier handles would only add overshoot; on/off channels (contacts,
    visibility) use "CONSTANT", so they switch on a frame instead of fading.
    """
    frames = np.asarray(frames, dtype=np.float32)
    n = len(frames)
    co = np.empty(2 * n, dtype=np.float32)
    co[0::2] = frames
    mode = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items[interpolation].value
    interp = np.full(n, mode, dtype=np.int32)
    total = 0
    for data_path, index, group, values in channels:
        fc = _new_fcurve(container, data_path, index, group)
        co[1::2] = np.asarray(values, dtype=np.float32)
        fc.keyframe_points.add(n)
        fc.keyframe_points.foreach_set("co", co)
        fc.keyframe_points.foreach_set("interpolation", interp)
        fc.update()
        total += n
    return total


def fcurves_of(obj):
    """The f-curves animating `obj` (either storage), for tests and exporters."""
    ad = obj.animation_data
    if ad is None or ad.action is None:
        return []
    if not has_slotted_actions():
        return list(ad.action.fcurves)
    from bpy_extras.anim_utils import action_get_channelbag_for_slot
    bag = action_get_channelbag_for_slot(ad.action, ad.action_slot)
    return list(bag.fcurves) if bag is not None else []


def property_channel(data_path: str, values: np.ndarray, group: str) -> tuple:
    """One channel for a single-valued property: a custom property ('["name"]') or an RNA one
    ("hide_viewport")."""
    return (data_path, 0, group, np.asarray(values, dtype=np.float32))


def pose_bone_channels(bone_name: str, quaternions: np.ndarray, scale_y: np.ndarray | None = None,
                       location: np.ndarray | None = None) -> list:
    """Channels for one pose bone: rotation_quaternion (T, 4), optional Y scale (T,), location (T, 3)."""
    base = f'pose.bones["{bone_name}"]'
    out = [(f"{base}.rotation_quaternion", i, bone_name, quaternions[:, i]) for i in range(4)]
    if scale_y is not None:
        out.append((f"{base}.scale", 1, bone_name, scale_y))
    if location is not None:
        out += [(f"{base}.location", i, bone_name, location[:, i]) for i in range(3)]
    return out

"""Foot contacts on the armature: two keyed custom properties, and an optional viewport overlay.

The engine says, per frame, whether each foot is on the floor (`Result.contacts`). An animator
uses that to place IK pins or drive foot-lock constraints, so it is stored on the armature object
as `dp3d_contact_left` / `dp3d_contact_right`, keyed 0 or 1 on every frame with constant
interpolation (a contact starts on a frame; it does not fade in). Drivers can read them.

The overlay (off by default) makes the contacts visible: a small sphere empty per foot, parented
to the bone that ends at the ankle, hidden in the viewport on the frames without contact. The
spheres are children of the armature tagged with `OVERLAY_TAG`, so a later run finds and replaces
them; a failed run removes them with the other objects it created (`apply.py`).
"""

from __future__ import annotations

import bpy
import numpy as np

from . import keyframes

PROPS = ("dp3d_contact_left", "dp3d_contact_right")
SIDES = ("L", "R")
OVERLAY_TAG = "dreampose3d_contact_overlay"
SPHERE_RADIUS = 0.04  # metres in the world, whatever the armature's scale
GROUP = "Foot contacts"


def key_contacts(obj, contacts: np.ndarray, frames: np.ndarray) -> int:
    """Key the two contact properties on `obj` (already animated by this run); returns keys written."""
    for side, key in zip(("left", "right"), PROPS):
        obj[key] = 0
        obj.id_properties_ui(key).update(min=0, max=1,
                                         description=f"1 while the {side} foot is on the floor (DreamPose3D)")
    channels = [keyframes.property_channel(f'["{key}"]', contacts[:, k], GROUP) for k, key in enumerate(PROPS)]
    return keyframes.write_channels(keyframes.channels_of(obj), frames, channels, interpolation="CONSTANT")


def add_overlay(obj, ankle_bones, contacts: np.ndarray, frames: np.ndarray, collection) -> list:
    """A sphere empty per foot at the tail of its ankle bone (None: no sphere for that foot),
    visible in the viewport only on contact frames; returns the new objects."""
    scale = float(np.mean(np.abs(np.array(obj.matrix_world.to_scale())))) or 1.0
    made = []
    for k, (side, bone) in enumerate(zip(SIDES, ankle_bones)):
        if bone is None or bone not in obj.pose.bones:
            continue
        empty = bpy.data.objects.new(f"{obj.name}_contact_{side}", None)
        collection.objects.link(empty)
        made.append(empty)
        empty.empty_display_type = "SPHERE"
        empty.empty_display_size = SPHERE_RADIUS / scale  # the child inherits the armature's scale
        empty[OVERLAY_TAG] = side
        empty.parent = obj
        empty.parent_type = "BONE"
        empty.parent_bone = bone  # a bone parent holds the child at the bone's tail: the ankle
        _, bag = keyframes.new_action(empty, f"{empty.name}Action")
        hidden = ~np.asarray(contacts[:, k], dtype=bool)
        keyframes.write_channels(bag, frames, [keyframes.property_channel("hide_viewport", hidden, GROUP)],
                                 interpolation="CONSTANT")
    return made


def overlay_of(obj, keep=()) -> list:
    """The contact spheres an earlier run made for `obj`, other than `keep`."""
    return [c for c in obj.children if OVERLAY_TAG in c and c not in keep]


def remove_overlay(spheres) -> None:
    """Delete contact spheres and the visibility actions no one else uses."""
    for ob in spheres:
        action = ob.animation_data.action if ob.animation_data else None
        bpy.data.objects.remove(ob)
        if action is not None and action.users == 0:
            bpy.data.actions.remove(action)

"""The add-on's Blender half: everything that needs bpy or mathutils.

- `properties`, `preferences`, `operators`, `panel`: the UI (registered by `addon/__init__.py`).
- `run_state`: the lift in progress and its cancel request; `enum_cache`: the enum items Blender
  needs kept alive (people, videos, mapping presets).
- `apply`: puts a result into the scene (or rolls it back); `armature_build`, `retarget_rig` and
  `keyframes` do the building, retargeting and bulk keyframe writes.
- `export`: BVH, FBX, .blend; `headless`: the Blender part of `addon/batch.py`.

The maths these call lives in `addon.core`, which never imports from here.
"""

"""The add-on's bpy-free half: everything that can be computed or checked without Blender.

- `errors`: `AddonError`, the one base of every error the add-on shows the user.
- `engine_defaults`: the engine's preset names and smoothing defaults, the add-on's one copy.
- `skeleton`: joint names, parents, left/right pairs and bone lengths (read from the engine's source).
- `field_words`: the engine's error sentences with its flags turned into the panel's field names.
- `engine_client`: finds the engine's Python, runs `python -m engine lift|inspect|info`, streams events.
- `result_io`: reads and checks the engine's result `.npz`.
- `rig_solver`: joint positions -> rest pose and per-frame bone rotations of the generated rig.
- `retarget`: mapping presets and the retarget maths onto an existing armature's bones.

Nothing here imports bpy, mathutils, bmesh or `addon.blender`: Blender's Python is not needed to
use or test it (numpy is). `tests/addon/test_addon_structure.py` and `build_addon.py` check that.
"""

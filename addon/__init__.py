"""DreamPose3D for Blender: lift 2D keypoints to 3D with the engine and animate any rig.

The same package installs as a Blender 4.2+ extension (blender_manifest.toml) and as a legacy
add-on in Blender 3.x (bl_info). It has two halves:

- `core/`: no bpy, no mathutils (engine client, result files, rig solving, retarget maths,
  skeleton, errors); it imports and is tested under plain Python.
- `blender/`: the UI and everything that touches Blender data.

This file is only the entry Blender needs: bl_info, register() and unregister(). bpy and the
Blender half are imported inside them, so importing the package (and `core`) needs no Blender.
`batch.py` is the headless entry script.
"""

bl_info = {
    "name": "DreamPose3D: Lift to 3D",
    "author": "DreamPose3D contributors",
    "version": (0, 1, 0),
    "blender": (3, 4, 0),
    "location": "3D Viewport > Sidebar > Lift to 3D",
    "description": "Lift 2D keypoint sequences to 3D with the DreamPose3D engine and animate an armature",
    "category": "Animation",
    "doc_url": "",
}

__version__ = ".".join(map(str, bl_info["version"]))


def _modules():
    from .blender import operators, panel, preferences, properties

    return (properties, preferences, operators, panel)


def register():
    import bpy

    for module in _modules():
        for cls in module.classes:
            bpy.utils.register_class(cls)
    from .blender import operators, properties

    properties.register_props()
    operators.register_handlers()


def unregister():
    import bpy

    from .blender import operators, properties

    operators.unregister_handlers()
    properties.unregister_props()
    for module in reversed(_modules()):
        for cls in reversed(module.classes):
            bpy.utils.unregister_class(cls)

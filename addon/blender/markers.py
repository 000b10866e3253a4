"""The add-on's timeline markers in the scene: replaced per armature, never piled up.

Lifting again onto the same armature must not leave the last run's markers next to the new ones.
Timeline markers are not ID data and hold no custom properties, so nothing on a marker says who
made it; instead the armature object keeps the list of the markers the add-on made for it
(`KEY`: "frame<TAB>name" strings). A new run adds its markers first and, only once everything
else has succeeded, removes the recorded ones and records its own (`add`, then `replace`), so a
failed run can take its new markers away and leave the old ones untouched. Markers the user made
(or renamed, or moved) are never touched.
"""

from __future__ import annotations

KEY = "dreampose3d_markers"


def add(scene, specs) -> list:
    """New markers for (scene frame, name) pairs; returns them (a failed run removes them)."""
    return [scene.timeline_markers.new(name, frame=frame) for frame, name in specs]


def remove(scene, markers) -> None:
    for m in markers:
        scene.timeline_markers.remove(m)


def recorded(scene, armature, keep=()) -> list:
    """The scene's markers that the armature's record lists, other than `keep`: what the add-on
    made for this armature last time and the user left as it was."""
    kept = {m.as_pointer() for m in keep}
    wanted = [str(entry).split("\t", 1) for entry in armature.get(KEY, [])]
    found, taken = [], set()
    for frame, name in (w for w in wanted if len(w) == 2):
        for m in scene.timeline_markers:
            ptr = m.as_pointer()
            if ptr not in kept and ptr not in taken and m.name == name and str(m.frame) == frame:
                found.append(m)
                taken.add(ptr)
                break
    return found


def replace(scene, armature, new_markers) -> None:
    """Remove the armature's earlier markers and record `new_markers` as its own."""
    remove(scene, recorded(scene, armature, keep=new_markers))
    armature[KEY] = [f"{m.frame}\t{m.name}" for m in new_markers]

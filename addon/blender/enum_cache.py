"""Enum items that Blender shows and Python must keep alive.

An `EnumProperty` whose items come from a callback (the people and videos that Scan found, the
mapping presets) returns a list of (identifier, label, description) tuples. Blender does not copy
those strings: Python must keep them referenced for as long as Blender may draw them, or the menu
shows garbage or Blender crashes (the documented rule for dynamic enum items). This module is the
one place that keeps them, in one `EnumItemCache`, keyed by the path they were made for: the
keypoint file for people and videos, the extra preset folder for mappings.

Entries are only replaced, never dropped, while the add-on runs; a refreshed list that is equal to
the cached one is not replaced, so the strings Blender holds stay the same objects.
"""

from __future__ import annotations

AUTO_PERSON = ("auto", "Auto", "Let the engine pick the main person")
FIRST_VIDEO = ("first", "First", "The file's first (or only) video")
AUTO_MAPPING = ("AUTO", "Auto (by bone names)", "Pick the preset whose bone names fit, else guess from names")


class EnumItemCache:
    """(kind, path) -> list of enum item tuples, kept alive for Blender."""

    def __init__(self):
        self._items: dict[tuple[str, str], list] = {}

    def put(self, kind: str, path: str, items: list) -> list:
        """Store `items` for (kind, path) unless an equal list is already there; return the kept list."""
        key = (kind, path)
        if self._items.get(key) != items:
            self._items[key] = list(items)
        return self._items[key]

    def get(self, kind: str, path: str) -> list | None:
        return self._items.get((kind, path))

    def clear(self) -> None:
        self._items.clear()

    # -- the three kinds the add-on uses

    def set_people(self, path: str, people: list[dict]) -> list:
        """The people `engine inspect` found in the keypoint file at `path`."""
        items = [AUTO_PERSON]
        for p in people:
            pid = str(p.get("id"))
            desc = f"frames {p.get('first_frame')}-{p.get('last_frame')}, mean confidence {p.get('mean_confidence', 0):.2f}"
            items.append((pid, f"Person {pid}", desc))
        return self.put("people", path, items)

    def people(self, path: str) -> list:
        return self.get("people", path) or [AUTO_PERSON]

    def set_videos(self, path: str, videos: list[dict]) -> list:
        """The videos of a multi-video file (VideoPose3D custom npz), as `engine inspect` lists them."""
        items = [(str(v.get("name")), str(v.get("name")), f"{v.get('frames')} frames") for v in videos] or [FIRST_VIDEO]
        return self.put("videos", path, items)

    def videos(self, path: str) -> list:
        return self.get("videos", path) or [FIRST_VIDEO]

    def set_mappings(self, preset_dir: str, items: list) -> list:
        """The mapping presets found with the extra preset folder `preset_dir` ("" for none)."""
        return self.put("mappings", preset_dir, items)


ITEMS = EnumItemCache()

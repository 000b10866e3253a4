"""Wrap a sentence to a width in pixels, as the panel draws it. No bpy.

Blender's labels cut a text that is wider than the sidebar ("pose_cam1_…DTH HEIGHT."); the panel
therefore splits its messages into lines that fit. The width of a piece of text comes from a
`measure(text) -> pixels` function (in Blender, `blf.dimensions` at the UI's font size), so this
module needs no Blender and is tested with a fixed-width stand-in.
"""

from __future__ import annotations


def wrap_to_width(text: str, width: float, measure) -> list[str]:
    """`text` as lines no wider than `width` pixels, split at spaces; a word wider than a line
    (a long path) is split between characters, so nothing is ever cut. Keeps every character:
    `" ".join(lines)` gives the text back when it had single spaces."""
    lines: list[str] = []
    for paragraph in str(text).splitlines() or [""]:
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if measure(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
            line = ""
            while measure(word) > width and len(word) > 1:   # split a word longer than the line
                cut = max(1, _longest_prefix(word, width, measure))
                lines.append(word[:cut])
                word = word[cut:]
            line = word
        lines.append(line)
    return lines


def _longest_prefix(word: str, width: float, measure) -> int:
    lo, hi = 1, len(word)
    while lo < hi:      # the longest prefix that fits (binary search: measuring is not free)
        mid = (lo + hi + 1) // 2
        if measure(word[:mid]) <= width:
            lo = mid
        else:
            hi = mid - 1
    return lo

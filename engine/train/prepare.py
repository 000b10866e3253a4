"""`python -m engine.train.prepare` (wired as `python -m engine prepare-data`): build the mocap cache.

Parses every BVH file of the chosen sources once (2 processes) into one `.npz` per source under
`cache_dir()`, then prints clip and frame counts per split and source, so training starts from
the cache in a second.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..errors import EngineError
from .mocap_dataset import (SOURCES, cache_dir, cache_path, default_mocap_root, load_clips,
                            split_of)
from .sources import DEFAULT_SOURCES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="prepare-data", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None,
                        help=f"mocap folder (default {default_mocap_root()})")
    parser.add_argument("--sources", nargs="+", default=list(DEFAULT_SOURCES),
                        choices=SOURCES)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--rebuild", action="store_true", help="delete and rebuild existing caches")
    args = parser.parse_args(argv)
    root = args.root or default_mocap_root()
    try:
        if args.rebuild:
            for source in args.sources:
                cache_path(source, root, args.fps).unlink(missing_ok=True)
        t0 = time.time()
        clips = load_clips("all", root=root, fps=args.fps, sources=tuple(args.sources))
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"cache ready in {time.time() - t0:.1f} s: {cache_dir()}", file=sys.stderr)
    table: dict[tuple[str, str], list[int]] = {}
    for c in clips:
        for key in ((split_of(c), c.source), (split_of(c), "all"), ("all", c.source), ("all", "all")):
            row = table.setdefault(key, [0, 0])
            row[0] += 1
            row[1] += len(c.joints)
    print(f"{'split':<6} {'source':<8} {'clips':>6} {'frames':>8}")
    for (split, source), (n, frames) in sorted(table.items()):
        print(f"{split:<6} {source:<8} {n:>6} {frames:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

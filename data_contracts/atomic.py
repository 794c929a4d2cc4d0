"""Files that appear whole or not at all: written to a hidden temp file beside the target, then renamed over it.

A reader sees the old file or the new one, never a part; a failed write leaves the old file and no temp file.
Temp names start with a dot, so folder readers that skip hidden files never pick one up.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], object], *, fsync: bool = False) -> Path:
    """Replace ``path`` with what ``write`` puts into the temp file it is given; ``fsync``: flush the file to disk
    before the rename (for files a crash must not lose once they are named)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomically(path: Path, text: str) -> Path:
    """Replace ``path`` with ``text`` (UTF-8, newlines as given)."""
    return write_atomically(path, lambda tmp: tmp.write_bytes(text.encode("utf-8")))

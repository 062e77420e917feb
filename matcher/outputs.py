"""Write a set of output files together: all of them or none (a folder never holds a mix of
this run's files and the last one's)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

Writer = Callable[[Path], object]  # its return value is ignored


def write_together(out_dir: str | Path, writers: dict[str, Writer]) -> list[Path]:
    """Call each writer on a staging path, then move every file into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=out))
    try:
        for name, write in writers.items():
            write(staging / name)
        written = []
        for name in writers:
            os.replace(staging / name, out / name)
            written.append(out / name)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)

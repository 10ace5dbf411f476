"""Atomic file output: every file mad writes appears whole under its name, or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator


def _file_mode() -> int:
    """The mode an ordinary new file gets under the current umask (mkstemp's own is 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new temporary path beside `path` to write to; rename it onto `path` when the block
    succeeds, remove it when it fails. The temporary is created exclusively (O_EXCL, a random
    name), so a file or link planted under a predictable name is never written through."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, _file_mode())
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class FolderBusy(RuntimeError):
    """A run directory that another process is writing to."""


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike) -> Iterator[None]:
    """Hold an exclusive lock on `folder` (through folder/.lock) for the block, so two sweeps never
    write one run directory; FolderBusy, naming the holder's pid, if another process holds it.
    The lock dies with its process: a killed sweep leaves nothing to clean up."""
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, _file_mode())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise FolderBusy(f"{folder} is in use by another sweep (pid {holder}): wait for it, or choose another hydra.run.dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)

"""Progress over grid points and loop chunks, with the rate in loop-generations per second."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator, Optional

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text


class RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} loop-gen/s", style="progress.data.speed")


class SweepProgress:
    """Counts loop-generations; the description names the grid points and chunks done."""

    def __init__(self, progress: Optional[Progress], total: int, points: int):
        self._progress = progress
        self._points = points
        self._points_done = 0
        self._chunks = 0
        self._task = progress.add_task(self._label(), total=total) if progress else None

    def _label(self) -> str:
        return f"grid points {self._points_done}/{self._points}, chunks {self._chunks}"

    def chunk(self, loop_generations: int) -> None:
        self._chunks += 1
        if self._progress is not None:
            self._progress.update(self._task, advance=loop_generations, description=self._label())

    def points_done(self, count: int) -> None:
        self._points_done += count
        if self._progress is not None:
            self._progress.update(self._task, description=self._label())


@contextmanager
def sweep_progress(total: int, points: int, enabled: bool) -> Iterator[SweepProgress]:
    """A progress bar on a terminal when enabled; otherwise a silent counter."""
    if not (enabled and sys.stderr.isatty()):
        yield SweepProgress(None, total, points)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as progress:
        yield SweepProgress(progress, total, points)

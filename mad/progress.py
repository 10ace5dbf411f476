"""Progress over grid points and loop chunks, with the rate in loop-generations per second: a
bar on a terminal, log lines elsewhere (nohup, SLURM, CI), at most one per `LOG_EVERY` seconds."""

from __future__ import annotations

import logging
import sys
import time
from contextlib import contextmanager
from typing import Iterator, Optional

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

log = logging.getLogger("mad.progress")
LOG_EVERY = 10.0  # seconds between progress lines off a terminal


class RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.0f} loop-gen/s", style="progress.data.speed")


class SweepProgress:
    """Counts loop-generations; the description names the grid points and chunks done."""

    def __init__(self, progress: Optional[Progress], total: int, points: int, log_every: Optional[float] = None):
        self._progress = progress
        self._points = points
        self._points_done = 0
        self._chunks = 0
        self._total, self._done = total, 0
        self._task = progress.add_task(self._label(), total=total) if progress else None
        self._log_every = log_every  # None: silent off a terminal
        self._start = self._logged = time.monotonic()

    def _label(self) -> str:
        return f"grid points {self._points_done}/{self._points}, chunks {self._chunks}"

    def _log(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._log_every is None or not (force or now - self._logged >= self._log_every):
            return
        self._logged = now
        elapsed = now - self._start
        rate = self._done / elapsed if elapsed > 0 else 0.0
        eta = (self._total - self._done) / rate if rate > 0 else float("nan")
        log.info(
            "%s; %.0f%% of %s loop-generations, %s loop-gen/s, %.0f s elapsed, ETA %.0f s",
            self._label(), 100 * self._done / max(self._total, 1), f"{self._total:,}", f"{rate:,.0f}", elapsed, eta,
        )  # fmt: skip

    def chunk(self, loop_generations: int) -> None:
        self._chunks += 1
        self._done += loop_generations
        if self._progress is not None:
            self._progress.update(self._task, advance=loop_generations, description=self._label())
        self._log()

    def points_done(self, count: int) -> None:
        self._points_done += count
        if self._progress is not None:
            self._progress.update(self._task, description=self._label())
        self._log(force=self._points_done >= self._points)


@contextmanager
def sweep_progress(total: int, points: int, enabled: bool) -> Iterator[SweepProgress]:
    """A progress bar on a terminal when enabled; log lines off a terminal; silent when disabled."""
    if not enabled:
        yield SweepProgress(None, total, points)
        return
    if not sys.stderr.isatty():
        log.info("%d grid point(s), %s loop-generations", points, f"{total:,}")
        yield SweepProgress(None, total, points, log_every=LOG_EVERY)
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

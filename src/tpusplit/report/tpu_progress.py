"""The progress bar of profiling on Edge TPUs: segments compiled and measured, time left."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

from tpusplit.report.console import console


def status_line(prof: Any) -> str:
    """``12 compiled, 11 measured, 1 rejected, 30 cached on 2 TPUs, ~1m20s left``."""
    parts = [f"{prof.compiled} compiled", f"{prof.measured_count} measured"]
    if prof.compile_failures:
        parts.append(f"{prof.compile_failures} rejected")
    if prof.disk_hits:
        parts.append(f"{prof.disk_hits} cached")
    tpus = prof.parallel
    text = ", ".join(parts) + f" on {tpus} TPU{'s' if tpus != 1 else ''}"
    if prof.lost:
        text += f" ({len(prof.lost)} lost)"
    left = prof.seconds_left()
    if left is not None:
        text += f", ~{_duration(left)} left"
    return text


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


class _Status(ProgressColumn):
    """Reads the profiler's counters at every refresh (rich refreshes in its own thread)."""

    def __init__(self, prof: Any) -> None:
        super().__init__()
        self.prof = prof

    def render(self, task: Task) -> Text:
        return Text(status_line(self.prof))


@contextmanager
def profiling(prof: Any, label: str) -> Iterator[Callable[[str], None]]:
    """Show ``label``, a bar (segments answered of those expected: :attr:`expected`, from the
    dry run) and :func:`status_line` on stderr while ``prof`` works (a terminal only; gone
    when done). Yields ``step(text)`` to change the label."""
    err = console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=16),
                  _Status(prof), console=err, transient=True,
                  disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=prof.expected or None)

        def refresh() -> None:
            total = max(prof.expected or 0, prof.done) or None
            bar.update(task, completed=prof.done, total=total)

        stop = _Ticker(refresh)
        try:
            yield lambda text: bar.update(task, description=text)
        finally:
            stop()


class _Ticker:
    """Calls ``fn`` twice a second in a daemon thread until called."""

    def __init__(self, fn: Callable[[], None]) -> None:
        import threading

        self._done = threading.Event()

        def loop() -> None:
            while not self._done.wait(0.5):
                fn()

        self._thread = threading.Thread(target=loop, daemon=True, name="tpusplit-progress")
        self._thread.start()

    def __call__(self) -> None:
        self._done.set()
        self._thread.join(2)

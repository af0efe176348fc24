"""Live lines on stderr: what a cost source is evaluating, and how many items are done."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from tpusplit.costs.base import CostSource
from tpusplit.report.console import console


class _Evaluations(ProgressColumn):
    """Reads the cost source's counters at every refresh (rich refreshes in its thread)."""

    def __init__(self, cost: CostSource) -> None:
        super().__init__()
        self.cost = cost

    def render(self, task: Task) -> Text:
        what = "profiling runs" if self.cost.measured else "segments evaluated"
        return Text(f"{self.cost.evaluations} {what}, {self.cost.seconds:.1f} s")


@contextmanager
def evaluating(cost: CostSource, label: str) -> Iterator[Callable[[str], None]]:
    """Show ``label`` and ``cost``'s live evaluation count on stderr (a terminal only, and
    gone when done); yields ``step(text)`` to change the label."""
    err = console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), _Evaluations(cost),
                  console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(label, total=None)
        yield lambda text: bar.update(task, description=text)


@contextmanager
def counting(label: str, total: int, hidden: bool = False, transient: bool = True
             ) -> Iterator[Callable[[int], None]]:
    """A bar on stderr: ``label``, items done of ``total`` and the time left (gone when done
    unless not ``transient``; nothing when ``hidden``); yields ``update(done)``."""
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console(stderr=True), transient=transient, disable=hidden) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)

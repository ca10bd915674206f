"""Progress on the terminal while a run works (rich), one line per finished step."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from harness.compare.claims import Context, behaviour
from harness.compare.report import one_line
from harness.compare.runner import Progress as ProgressHooks
from harness.compare.stats import batch_frame, pairing_frame
from harness.core.records import BatchRecord, Pairing


class ConsoleProgress(ProgressHooks):
    """A bar over all batches of the run, and a line per server and pairing."""

    def __init__(self, *, total_batches: int, context: Context, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.context = context
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("batches"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
            # rich redraws 10 times a second by default: 2.3 % of a core in a terminal,
            # in bursts that can land on a batch; once a second is enough for a bar.
            refresh_per_second=1,
        )
        self.task = self.bar.add_task("starting", total=total_batches)

    def __enter__(self) -> ConsoleProgress:
        self.bar.start()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.bar.stop()

    def print(self, text: str) -> None:
        self.bar.console.print(text)

    def server_starting(self, server: str) -> None:
        self.bar.update(self.task, description=f"starting {server}")

    def server_ready(self, server: str, seconds: float | None) -> None:
        said = "already running (a --target)" if seconds is None else f"ready in {seconds:.2f} s"
        self.print(f"[bold]{server}[/] {said}")

    def server_failed(self, server: str, reason: str) -> None:
        self.print(f"[red]{server} failed:[/] {escape(reason)}")

    def pairing_started(self, server: str, client: str) -> None:
        self.bar.update(self.task, description=f"{server} x {client}")

    def batch_done(self, batch: BatchRecord) -> None:
        self.bar.advance(self.task)

    def pairing_done(self, pairing: Pairing) -> None:
        counted = pairing.counted
        if pairing.status == "failed":
            self.print(f"  [red]{pairing.client}: failed[/]: {escape(one_line(pairing.reason))}")
            return
        ratios = " ".join(f"{b.ratio:.2f}x" for b in counted)
        # the same summary the report derives, so the console and the report never disagree
        row = pairing_frame([pairing], batch_frame([pairing]), delay_s=0.0, clients=0, work="").iloc[0]
        seen = behaviour(row, self.context)
        if seen == "failed" and row.get("stolen_batches"):
            seen = "stolen"  # every counted batch ran while the host stole CPU: left out, not failed
        self.print(
            f"  {pairing.client:<17} {ratios:<24} {seen:<11} in flight {_count(row['max_in_flight'])}, "
            f"{_count(row['processes'])} process(es), parallelism {_fixed(row['parallelism'])}, "
            f"new connections {_count(row['new_connections'])}"
        )


def _fixed(value: object) -> str:
    return "-" if not isinstance(value, float) or value != value else f"{value:.2f}"


def _count(value: float | None) -> str:
    return "-" if value is None or value != value else str(int(value))  # NaN: nothing measured

"""The record files of a flush run (``--report``, ``--failed-to``): checked against the
input and each other before anything is opened, then opened for the run.

Kept apart from the runner because opening may wait: a FIFO's reader is waited for a bounded
time (:mod:`hpccache_cli.flush.pipes`), announced through ``on_wait`` and cut short by
a signal; and because each file is handed to the caller as soon as it is open, so an
interrupted open (a signal during that wait) never loses track of the one opened before it,
whose temporary file must go.
"""

from __future__ import annotations

from collections.abc import Callable

from hpccache_cli.errors import UsageError
from hpccache_cli.flush.inputs import PathSource
from hpccache_cli.flush.outputs import OutputFile, check_outputs
from hpccache_cli.flush.sinks import FailedList, JsonlReport, RecordFile
from hpccache_cli.jobs.flush.values import FlushRequest


def check_outputs_of(request: FlushRequest, source: PathSource) -> set[str]:
    """Before anything is opened: no two outputs on one file, no output destroying the input
    (``hpccache_cli.flush.outputs``). Returns the options whose file is the input file."""
    junit = request.pipeline.junit if request.pipeline is not None else None
    outputs = [(opt, path) for opt, path in (("--report", request.report),
                                             ("--failed-to", request.failed_to),
                                             ("--junit", junit)) if path]
    on_input = check_outputs(outputs, getattr(source, "fd", None))
    if "--junit" in on_input:
        raise UsageError(f"--junit {junit} is the input being read: give another file")
    return on_input


def open_records(request: FlushRequest, on_input: set[str], sinks: list[RecordFile], *,
                 on_wait: Callable[[str], None] | None = None,
                 signals: Callable[[], int] | None = None) -> None:
    """The report and failed list, each written beside its target and renamed at the end,
    appended to ``sinks`` as each is opened (the caller abandons them on any exception).
    A file that cannot be opened is a UsageError naming its option (exit 2, nothing
    started)."""
    current = ""
    try:
        if request.report:
            current = f"--report {request.report}"
            sinks.append(JsonlReport(OutputFile.open(
                request.report, "--report", in_place_ok="--report" not in on_input,
                on_wait=on_wait, signals=signals)))
        if request.failed_to:
            current = f"--failed-to {request.failed_to}"
            sinks.append(FailedList(OutputFile.open(
                request.failed_to, "--failed-to", in_place_ok="--failed-to" not in on_input,
                on_wait=on_wait, signals=signals), request.separator))
    except OSError as exc:
        raise UsageError(f"cannot write {current}: {exc.strerror or exc}") from None

"""What the ``hpccache`` process sets up around the Typer app: output guard, logging, and
one-line usage errors. Kept apart from the commands and light to import (no Click import of
its own: Typer's exception classes are found through ``typer``), so start-up stays fast.

- Under ``TF_BUILD`` stdout and stderr are wrapped so no file name can forge an Azure DevOps
  logging command (:mod:`hpccache_cli.pipelines.guard`).
- Library log records (the Azure SDK's multi-line sign-in warnings, ...) are dropped unless
  ``--debug`` (before or after the command: the same) or ``flush -v`` asks for them: without a
  handler, Python's last-resort handler would print them above our one-line error. A command
  without a ``--debug`` of its own that is given one is told where it goes.
- Click usage errors (unknown option, misspelt command, bad value) are one line
  ``hpccache: error: ...`` with Click's suggestion, exit 2, instead of Typer's boxed panel.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from hpccache_cli.errors import EXIT_USAGE

_LOG_FORMAT = "hpccache: log: %(levelname)s %(name)s: %(message)s"


def _click_classes() -> tuple[type[BaseException], type[BaseException], type[BaseException]]:
    """(ClickException, UsageError, Abort) of the Click that Typer uses (vendored or not)."""
    import typer

    mro = typer.BadParameter.__mro__
    usage = next(c for c in mro if c.__name__ == "UsageError")
    click_exc = next(c for c in mro if c.__name__ == "ClickException")
    return click_exc, usage, typer.Abort


def usage_line(exc: Any) -> str:
    """One line for a Click error: its message, Click's "did you mean", where to look."""
    possibilities = getattr(exc, "possibilities", None)
    ctx = getattr(exc, "ctx", None)
    if (exc.__class__.__name__ == "NoSuchOption" and getattr(exc, "option_name", "") == "--debug"
            and ctx is not None and ctx.parent is not None):
        # A command without Azure options has no --debug of its own; the root's is the same
        top = ctx
        while top.parent is not None:
            top = top.parent
        rest = ctx.command_path[len(top.command_path):].strip()
        return (f"hpccache: error: {rest} has no --debug of its own: give it before the "
                f"command, as in hpccache --debug {rest} ...")
    if possibilities and exc.__class__.__name__ == "NoSuchOption":
        names = list(possibilities)  # closest first (difflib), as Click computed them
        choice = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
        message = f"{exc.message}; did you mean {choice}?"
    else:
        message = exc.format_message()
    message = " ".join(str(message).split())  # one line, whatever Click wrapped
    if message[:1].isupper() and message[1:2].islower():
        message = message[0].lower() + message[1:]
    if ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return f"hpccache: error: {message}"


def quiet_library_logs() -> None:
    """Drop log records unless :func:`show_library_logs` is called: a handler on the root
    logger keeps Python's last-resort handler (which prints WARNING and up) out of the way."""
    import logging

    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


def show_library_logs(level: int) -> None:
    """Show library log records at ``level`` and up on stderr (``flush -v``: WARNING; ``--debug``
    has its own handler, :mod:`hpccache_cli.cli.az_logging`); the lowest level asked for wins."""
    import logging

    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "_hpccache", False)]
    if ours:
        handler = ours[0]
        handler.setLevel(min(handler.level, level))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_LOG_FORMAT))
        handler.setLevel(level)
        handler._hpccache = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, level))


def run(app: Any, args: list[str] | None = None) -> None:
    """Run ``app`` as the ``hpccache`` process does, and exit with its code."""
    # (pipelines.vso.detect, inlined: --version and --help need not import the vso module)
    if os.environ.get("TF_BUILD", "").strip().lower() == "true":
        from hpccache_cli.pipelines import guard

        guard.install(sys)
    quiet_library_logs()
    click_exc, usage, abort = _click_classes()
    try:
        code = app(args=args, standalone_mode=False)
    except usage as exc:
        if exc.__class__.__name__ == "NoArgsIsHelpError":  # bare `hpccache`: the help
            text = exc.format_message()  # type: ignore[attr-defined]  # (Typer printed it)
            if text.strip():
                print(text, file=sys.stderr)
            sys.exit(EXIT_USAGE)
        print(usage_line(exc), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except click_exc as exc:  # e.g. a file option that cannot be opened: bad input too
        print(usage_line(exc), file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except abort:
        print("hpccache: aborted", file=sys.stderr)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["quiet_library_logs", "run", "show_library_logs", "usage_line"]

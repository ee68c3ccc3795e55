"""Errors the user sees, with the exit code each one means.

Anything raised as a :class:`UserError` reaches the terminal as one line on stderr
(``hpccache: error: ...``) with its exit code, never as a traceback. Messages say what is wrong
and what to do next.
"""

from __future__ import annotations

from collections.abc import Mapping

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_AZURE = 3
EXIT_UNREACHABLE = 4
EXIT_INTERRUPTED = 130


class UserError(Exception):
    """A problem to report in one line, with an exit code."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(UserError):
    """Bad options or input (exit 2)."""

    exit_code = EXIT_USAGE


class AzureError(UserError):
    """Azure Resource Manager refused or failed (exit 3)."""

    exit_code = EXIT_AZURE



class FieldError(Exception):
    """An error that a library keyword may fix: the library speaks Python, a front end its own
    names (the model is h11's ``error_status_hint``).

    The message names each such keyword as ``{field}`` and lists it in ``fields``; ``hint``
    says in one machine-readable word what is wrong (``too_small``, ``wrong_port``, ...).
    ``str(exc)`` names the fields as Python callers know them: the keyword, or ``keywords``
    where a bare keyword would mislead (``wait=False``). A front end renders its own names
    with :meth:`render`: the CLI passes its flags (one field -> flag table in
    ``hpccache_cli.cli.flags``), so its users read ``--concurrency``. The NFS client's
    errors and the flush library's share this one mechanism.
    """

    def __init__(self, message: str = "", *, fields: tuple[str, ...] = (), hint: str = "",
                 keywords: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.template = message
        self.fields = fields
        self.hint = hint
        self.keywords: Mapping[str, str] = keywords or {}

    def render(self, names: Mapping[str, str] | None = None) -> str:
        """The message with each ``{field}`` called by ``names`` (default: the keyword)."""
        return fill_fields(self.template, self.fields, names, self.keywords)

    def __str__(self) -> str:
        return self.render()


def fill_fields(template: str, fields: tuple[str, ...], names: Mapping[str, str] | None,
                keywords: Mapping[str, str] | None = None) -> str:
    """``template`` with each ``{field}`` of ``fields`` called by ``names``, else by
    ``keywords``, else by the field itself. What :meth:`FieldError.render` does, and what a
    per-path reason (text, not an exception) uses to name a field the same way."""
    text = template
    for name in fields:
        shown = (names or {}).get(name) or (keywords or {}).get(name) or name
        text = text.replace("{" + name + "}", shown)
    return text


def render_error(exc: BaseException, names: Mapping[str, str] | None = None) -> str:
    """``exc`` as text, its fields named by ``names`` when it is a :class:`FieldError`."""
    return exc.render(names) if isinstance(exc, FieldError) else str(exc)

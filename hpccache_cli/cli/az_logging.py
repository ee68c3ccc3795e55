"""``--debug``, ``--verbose`` and ``--only-show-errors`` on the Azure commands, as in ``az``.

- ``--debug``: the Azure SDK's HTTP log (request line, headers, response status and headers)
  on stderr. The SDK already shows ``Authorization`` as ``REDACTED``; every line also goes
  through :class:`RedactTokens`, so a bearer token or an ``access_token`` field never reaches a
  pipeline log even if a library logs one.
- ``--verbose``: one line per request and per response status, no headers.
- ``--only-show-errors``: no warnings, no progress spinner; errors still print.

The handler is ours and replaced on every run (tests run many commands in one process), and it
writes to the ``sys.stderr`` of the moment.

``hpccache --debug COMMAND`` means what ``hpccache COMMAND --debug`` means: the root option
calls :func:`request_debug`, which remembers it for the command's own :func:`configure` (that
would otherwise turn the SDK's log back down) and sets the same handler up at once for the
commands without Azure options (``flush-file``, ``emulator``, ``demo``).
"""

from __future__ import annotations

import logging
import re
import sys

_HANDLER_NAME = "hpccache-az-log"
_HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"

_state = {"only_errors": False, "debug": False}
#: The loggers --debug shows (the SDK, its HTTP stack, MSAL's sign-in steps, ours).
_LOGGERS = ("azure", "urllib3", "msal", "hpccache_cli")

_SECRETS = [
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1REDACTED"),
    (re.compile(r"(?i)(\"?(?:access_token|refresh_token|client_secret)\"?\s*[:=]\s*\"?)[^\"'&\s,}]+"),
     r"\1REDACTED"),
]


class RedactTokens(logging.Filter):
    """Replace anything that looks like a token in a record's final text."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for pattern, repl in _SECRETS:
            text = pattern.sub(repl, text)
        record.msg, record.args = text, None
        return True


class RequestLines(logging.Filter):
    """For ``--verbose``: keep only the request method/URL and the response status."""

    def filter(self, record: logging.LogRecord) -> bool:
        keep = [
            line.strip()
            for line in record.getMessage().splitlines()
            if line.startswith(("Request URL", "Request method", "Response status"))
        ]
        record.msg, record.args = "; ".join(keep), None
        return bool(keep)


def only_errors() -> bool:
    """True after ``--only-show-errors``: callers skip warnings and progress output."""
    return _state["only_errors"]


def request_debug(on: bool = True) -> None:
    """``hpccache --debug`` (before the command): the command's ``--debug``, whether or not
    the command has one of its own."""
    _state["debug"] = on
    configure(debug=on)


def configure(
    *, debug: bool = False, verbose: bool = False, only_show_errors: bool = False
) -> None:
    """Set up logging for one Azure command run (and undo a previous run's set-up)."""
    debug = debug or _state["debug"]
    _state["only_errors"] = only_show_errors
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    logging.getLogger(_HTTP_LOGGER).setLevel(logging.NOTSET)
    azure = logging.getLogger("azure")
    if not (debug or verbose):
        # Library warnings stay quiet unless asked for: the command prints its own one-line
        # errors, and a stray SDK warning would break "one line per error".
        azure.setLevel(logging.ERROR if only_show_errors else logging.WARNING)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RedactTokens())
    if debug:
        handler.setFormatter(logging.Formatter("hpccache: debug: %(name)s: %(message)s"))
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            logger.setLevel(logging.DEBUG)
            logger.addHandler(handler)
        return
    handler.addFilter(RequestLines())
    handler.setFormatter(logging.Formatter("hpccache: info: %(message)s"))
    http = logging.getLogger(_HTTP_LOGGER)
    http.setLevel(logging.INFO)
    http.addHandler(handler)

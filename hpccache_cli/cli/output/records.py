"""``hpccache path``'s formats: a stream of path records, not an Azure resource.

Paths are bytes on Linux and must come back byte for byte, so this output differs from az's on
purpose: JSON one record a line inside a list, and a TSV with a header row whose fields escape
``\\``, tab and newline (az's TSV would split a row at a tab inside a file name). It lives
beside the az renderer so that every format choice is in one package.
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any


class RecordFormat(str, Enum):
    table = "table"
    json = "json"
    tsv = "tsv"


def default_format(fmt: RecordFormat | None) -> RecordFormat:
    """Table on a terminal, JSON when piped (documented in README)."""
    if fmt is not None:
        return fmt
    return RecordFormat.table if sys.stdout.isatty() else RecordFormat.json


def record_field(value: Any) -> str:
    """One field of a record TSV: empty for None, ``true``/``false``, escaped text."""
    if value is None:
        return ""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")

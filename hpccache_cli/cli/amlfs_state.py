"""``hpccache amlfs state``: per file, is it in Blob and current? One verdict each.

The work is the library's (:mod:`hpccache_cli.lustre.state`); this module reads the options,
prints the table or az-style JSON, the summary and the loud lines for broken promises, writes
``--report`` and picks the exit code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional

import typer

from hpccache_cli.cli.azure_options import AzureArgs, azure_command, emit
from hpccache_cli.cli.common import reports_errors
from hpccache_cli.cli.options.resources import AMLFS_RESOURCE_GROUP, AMLFS_SUBJECT_NAMES

INPUT = "Input"
STATE_HELP = (
    "Per file: is it in Blob and current? One verdict per file, joined from its Lustre HSM "
    "state (lfs hsm_state / hsm_action, asked in batches) and its blob (size, modtime and the "
    "copytool's metadata, listed per directory).\n\n"
    "Client paths on a Lustre mount (the mount table: /proc/self/mountinfo, --mountinfo FILE "
    "or $HPCCACHE_MOUNTINFO) find the file system in Azure by its MGS address; with -n FS -g "
    "RG, paths not on a Lustre mount are paths in the file system (/results/a.txt) and only "
    "their Blob side is known (a pipeline agent with no Lustre client): the verdicts say so.\n\n"
    "Verdicts: current (in Blob and current), dirty, never-archived, archive-running, "
    "released (data only in Blob), lost, renamed (blob at the old path), metadata-changed "
    "(will not be exported), no-blob and blob-mismatch (Lustre says archived, Blob disagrees: "
    "a broken promise), in-blob-unverified and no-blob-unverified (no Lustre client), error.\n\n"
    "Exit codes: 0 every file is safely in Blob as it is now (current, released, or without a "
    "client in-blob-unverified); 1 some file is not; 2 bad usage; 3 an Azure error; 130 "
    "interrupted (Ctrl-C, SIGTERM or SIGHUP; before every file is judged: no report written, "
    "an old one left as it was).\n\n"
    "Blob access: AZURE_STORAGE_CONNECTION_STRING (or --connection-string), else your Azure "
    "sign-in (Storage Blob Data Reader on the account).\n\n"
    "Example: find /lustre/results -type f -print0 | hpccache amlfs state -0 -o table"
)


def input_options() -> dict[str, Any]:
    """The options ``state`` and ``export`` share (declared once)."""
    return {
        "name": typer.Option(None, *AMLFS_SUBJECT_NAMES, show_default=False,
                             help="File system name: paths not on a Lustre mount are then "
                             "file-system paths (Blob side only)."),
        "resource_group": AMLFS_RESOURCE_GROUP,
        "from_file": typer.Option(None, "--from-file", "-f", metavar="FILE",
                                  rich_help_panel=INPUT,
                                  help="Read paths from FILE ('-' = stdin)."),
        "null": typer.Option(False, "--null", "-0", rich_help_panel=INPUT,
                             help="Input paths are NUL-separated (find -print0)."),
        "recursive": typer.Option(False, "--recursive", "-r", rich_help_panel=INPUT,
                                  help="Every regular file under directory paths."),
        "mountinfo": typer.Option(None, "--mountinfo", metavar="FILE",
                                  help="Mount table in /proc/self/mountinfo format (default: "
                                  "$HPCCACHE_MOUNTINFO, else /proc/self/mountinfo)."),
        "connection_string": typer.Option(None, "--connection-string", metavar="STRING",
                                          show_default=False,
                                          help="Blob connection string (default: "
                                          "$AZURE_STORAGE_CONNECTION_STRING, else Entra ID)."),
        "lfs": typer.Option(None, "--lfs", metavar="PROGRAM",
                            help="The lfs program (default: lfs on PATH)."),
    }


_O = input_options()


def summary_lines(verdicts: list[Any]) -> list[str]:
    from hpccache_cli.lustre.state import counts
    from hpccache_cli.lustre.verdicts import LOUD, TEXT

    got = counts(verdicts)
    parts = [f"{n} {TEXT[v]}" for v, n in sorted(got.items(), key=lambda kv: -kv[1])]
    lines = [f"{len(verdicts)} file(s): " + "; ".join(parts)]
    loud = sum(got.get(v, 0) for v in LOUD)
    if loud:
        lines.append(f"BROKEN PROMISE: {loud} file(s) Lustre says are archived have no matching "
                     "blob; their data is NOT safely in Blob (archive them again: hpccache "
                     "amlfs export)")
    return lines


def blob_down(verdicts: list[Any]) -> None:
    """No listing could be read at all (no access, wrong key, no network): one line, exit 3,
    instead of the same error once per file."""
    from hpccache_cli.errors import AzureError

    if verdicts and all(v.detail.startswith("cannot list blobs") for v in verdicts):
        raise AzureError(f"{verdicts[0].detail}; check the blob connection string "
                         "(--connection-string, AZURE_STORAGE_CONNECTION_STRING) or your "
                         "Storage Blob Data Reader role on the account")


def open_report(path: str, interrupts: Any) -> Any:
    """--report, opened before the files are judged (a typo costs seconds, not a run): a
    temporary file beside it, renamed into place whole (the old report stays until then); a
    FIFO waits, announced and for a bounded time, for its reader."""
    from hpccache_cli.errors import UsageError
    from hpccache_cli.flush.outputs import OutputFile
    from hpccache_cli.jobs.flush.streams import announce

    try:
        return OutputFile.open(path, "--report", on_wait=announce, signals=interrupts.count)
    except OSError as exc:
        raise UsageError(f"cannot write --report {path}: {exc.strerror or exc}") from None


def write_report(out: Any, path: str, verdicts: list[Any]) -> None:
    from hpccache_cli.errors import UsageError

    try:
        for v in verdicts:
            out.write((json.dumps(v.to_json(), sort_keys=True) + "\n").encode())
        out.commit()
    except OSError as exc:
        out.abandon()
        raise UsageError(f"cannot write --report {path}: {exc.strerror or exc}") from None


def hsm_side(where: Any, lfs: str | None) -> Any:
    from hpccache_cli.errors import UsageError
    from hpccache_cli.lustre.hsm import HsmError, LfsCommand

    if not where.client_side:
        return None
    try:
        return LfsCommand(lfs)
    except HsmError as exc:
        raise UsageError(str(exc)) from None


def register_state(app: typer.Typer) -> None:
    @app.command("state", help=STATE_HELP,
                 short_help="Per file: is it in Blob and current? One verdict each.")
    @reports_errors
    @azure_command(output=True)
    def state(
        paths: Optional[list[str]] = typer.Argument(  # noqa: UP045 - Typer needs Optional
            None, metavar="PATH...", show_default=False,
            help="Files (default: read them from stdin)."),
        name: Optional[str] = _O["name"],  # noqa: UP045
        resource_group: Optional[str] = _O["resource_group"],  # noqa: UP045
        from_file: Optional[str] = _O["from_file"],  # noqa: UP045
        null: bool = _O["null"],
        recursive: bool = _O["recursive"],
        mountinfo: Optional[str] = _O["mountinfo"],  # noqa: UP045
        connection_string: Optional[str] = _O["connection_string"],  # noqa: UP045
        lfs: Optional[str] = _O["lfs"],  # noqa: UP045
        report: Optional[Path] = typer.Option(  # noqa: UP045
            None, "--report", metavar="FILE", help="Write one JSON line per file to FILE."),
        *,
        az: AzureArgs,
    ) -> None:
        from hpccache_cli.jobs.flush.interrupts import run_command

        code = run_command("file was judged", lambda interrupts: _state(
            paths, name, resource_group, from_file, null, recursive, mountinfo,
            connection_string, lfs, report, az, interrupts))
        if code:
            raise typer.Exit(code)


def _state(paths: list[str] | None, name: str | None, resource_group: str | None,
           from_file: str | None, null: bool, recursive: bool, mountinfo: str | None,
           connection_string: str | None, lfs: str | None, report: Path | None,
           az: AzureArgs, interrupts: Any) -> int:
    """``amlfs state`` under SIGINT, SIGTERM and SIGHUP (flush's phases): until every file is
    judged a signal ends it with one line (no report written, the old one as it was); after,
    it is only noted (the report is written whole), and the exit code is 130."""
    from hpccache_cli.cli.amlfs_where import expand, read_paths, resolve, unique
    from hpccache_cli.errors import EXIT_INTERRUPTED
    from hpccache_cli.jobs.flush.interrupts import signal_name
    from hpccache_cli.jobs.flush.streams import say
    from hpccache_cli.lustre.state import judge_files
    from hpccache_cli.lustre.verdicts import TEXT

    where = resolve(read_paths(paths, from_file, null), name=name,
                    resource_group=resource_group, mountinfo=mountinfo,
                    settings_of=az.settings, connection_string=connection_string)
    targets = unique(expand(where, recursive))
    side = hsm_side(where, lfs)
    out = open_report(str(report), interrupts) if report is not None else None
    try:
        verdicts = judge_files(targets, side, where.fs.container)
        blob_down(verdicts)
        interrupts.hold()  # every file judged: a signal now is only noted
    except BaseException:
        if out is not None:
            out.abandon()
        raise
    if out is not None:
        write_report(out, str(report), verdicts)
    headers = ["Path", "Verdict", "HSM", "BlobSize", "Detail"]
    rows = [[v.path, TEXT[v.verdict], v.hsm.words if v.hsm else "-",
             v.blob.size if v.blob else "-", v.detail] for v in verdicts]
    emit(az, [v.to_json() for v in verdicts], headers, rows)
    for line in summary_lines(verdicts):
        say(line, err=True)
    if interrupts.received:
        say(f"hpccache: interrupted ({signal_name(interrupts.received[0])}) after every file "
            "was judged: the output above and the report are complete", err=True)
        return EXIT_INTERRUPTED
    return 0 if all(v.safe for v in verdicts) else 1

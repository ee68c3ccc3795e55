"""The root command group loads only the command that runs (start-up, issue #14).

Typer builds a Click command for every registered function, and registering one means
importing its module: every ``hpccache`` call used to import all eight command modules (the
Azure option groups, the emulator's, the demo's) and build some twenty commands, to run one.
:class:`LazyGroup` instead knows its commands from a static table of :class:`CommandEntry`
(name, module, short help): ``hpccache --help``, shell completion of command names and "did
you mean" read the table; running (or asking ``--help`` of) a command imports its one module,
registers it on a throw-away Typer app and builds only that. tests/test_cli_startup.py checks
that the table says what the modules register, so it cannot go stale.

Help is Click's plain text (``rich_markup_mode=None``): rendering it with Rich imported Rich's
console, tables and Markdown parser (~150 ms, more than the rest of ``hpccache --help``). The
option groups that Rich drew as panels stay: :class:`SectionedHelpCommand` writes each
``rich_help_panel`` as a section of its own.
"""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import typer
from typer import _click
from typer._click.shell_completion import CompletionItem
from typer._click.utils import make_default_short_help
from typer.core import TyperCommand, TyperGroup
from typer.models import DefaultPlaceholder

from hpccache_cli.cli.fast_params import PlainValuesGroup, use_plain_values


class CommandEntry(NamedTuple):
    """One command of the root group, known without importing its module."""

    name: str
    module: str  # under hpccache_cli.cli; its register(app) declares the command
    short_help: str  # the command's first sentence, as Click derives it from the help


#: A help paragraph that is a list item: "- ..." or "1. ...".
_ITEM = re.compile(r"(?:[-*]|[0-9]+[.)]) ")


def hang_list_items(text: str, width: int) -> str:
    """``text`` with each list-item paragraph wrapped to ``width`` under its own text (a
    hanging indent) and marked ``\\b`` so Click keeps it: the item reads as an item, not
    as a paragraph that happens to start with a dash."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        item = _ITEM.match(paragraph)
        if item:
            lines = textwrap.wrap(" ".join(paragraph.split()), max(width, 20),
                                  subsequent_indent=" " * len(item.group()))
            paragraph = "\b\n" + "\n".join(lines)
        paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


class SectionedHelpCommand(TyperCommand):
    """Click's plain help, with the options grouped as Typer's Rich help groups them: the
    arguments, the options without a ``rich_help_panel``, then one section per panel in the
    order the panels first appear (a long option list stays navigable without Rich). List
    items in the help text get a hanging indent (:func:`hang_list_items`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:  # errors name an argument as help does: 'EXPORT'
            if param.param_type_name == "argument" and param.metavar is None:
                param.metavar = argument_name(param)

    def format_help_text(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        if self.help is None or self.deprecated:
            super().format_help_text(ctx, formatter)
            return
        text = inspect.cleandoc(self.help).partition("\f")[0]
        formatter.write_paragraph()
        with formatter.indentation():
            formatter.write_text(
                hang_list_items(text, formatter.width - formatter.current_indent))

    def collect_usage_pieces(self, ctx: _click.Context) -> list[str]:
        # Typer's plain usage line writes a required argument as "{export}"; Click's own
        # convention, and what Rich help showed, is "EXPORT" ("[PATH]..." when optional).
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(argument_usage(param))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces

    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":  # "EXPORT", not Typer's "export <str>"
                record = (argument_name(param), record[1])
            default = "Arguments" if param.param_type_name == "argument" else "Options"
            sections.setdefault(getattr(param, "rich_help_panel", None) or default,
                                []).append(record)
        for title in sorted(sections, key=lambda t: (t != "Arguments", t != "Options")):
            with formatter.section(title):
                formatter.write_dl(sections[title])


def argument_name(param: _click.Parameter) -> str:
    """An argument as help names it: its metavar, else its name in capitals (``EXPORT``)."""
    return param.metavar or (param.name or "").upper()


def argument_usage(param: _click.Parameter) -> str:
    """An argument in the usage line, as Click writes it: ``EXPORT``, ``[PATH]...``."""
    text = argument_name(param)
    if not param.required:
        text = f"[{text}]"
    return f"{text}..." if param.nargs != 1 else text


def write_commands(formatter: _click.HelpFormatter, rows: list[tuple[str, str]]) -> None:
    """The "Commands" section: each command's whole first sentence, wrapped (Click would cut
    it at the terminal width: "Show a cache: mount addresses, health, state, size, SKU and...")."""
    if rows:
        with formatter.section("Commands"):
            formatter.write_dl(rows)


class PlainHelpGroup(PlainValuesGroup):
    """A command group (``cache``, ``target``, ``emulator``): lists its commands as the root
    group does, and gives the command it runs plain converters (the root group's class does
    that only for its own commands: ``emulator init DIR`` used to import pydantic)."""

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        commands = [self.get_command(ctx, name) for name in self.list_commands(ctx)]
        write_commands(formatter, [(c.name or "", c.get_short_help_str(limit=1 << 30))
                                   for c in commands if c is not None and not c.hidden])


def _unset(value: Any, default: type[Any]) -> bool:
    """No class chosen (Typer fills in its default class, or a placeholder for it)."""
    if isinstance(value, DefaultPlaceholder):
        value = value.value
    return value is None or value is default


def plain_help(app: typer.Typer) -> None:
    """Give every command and group of ``app`` (and of its sub-apps) the plain help classes
    above, unless it names a class of its own."""
    for info in app.registered_commands:
        if _unset(info.cls, TyperCommand):
            info.cls = SectionedHelpCommand
    for group in app.registered_groups:
        sub = group.typer_instance
        if sub is not None:
            if _unset(group.cls, TyperGroup) and _unset(sub.info.cls, TyperGroup):
                group.cls = PlainHelpGroup
            plain_help(sub)


def build_command(entry: CommandEntry) -> _click.Command:
    """Import the entry's module and build its one command (a group for ``cache`` etc.)."""
    module = importlib.import_module(f"hpccache_cli.cli.{entry.module}")
    app = typer.Typer(rich_markup_mode=None, add_completion=False,
                      pretty_exceptions_enable=False)
    module.register(app)
    plain_help(app)
    commands = typer.main.get_group(app).commands
    if entry.name not in commands:
        raise LookupError(f"hpccache_cli.cli.{entry.module} registers no {entry.name!r} "
                          f"command (it registers {sorted(commands)})")
    command = commands[entry.name]
    use_plain_values(command)
    return command


class LazyCommands(Mapping[str, _click.Command]):
    """The root group's ``commands``: names from the table, a command built when looked up.
    Typer's own code reads ``commands.keys()`` (its "did you mean"), which loads nothing."""

    def __init__(self, entries: tuple[CommandEntry, ...]) -> None:
        self.entries = {entry.name: entry for entry in entries}
        self.loaded: dict[str, _click.Command] = {}

    def __getitem__(self, name: str) -> _click.Command:
        if name not in self.loaded:
            self.loaded[name] = build_command(self.entries[name])
        return self.loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)


class LazyGroup(PlainHelpGroup):
    """A root group whose commands come from ``table`` (set by a subclass)."""

    table: tuple[CommandEntry, ...] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = LazyCommands(self.table)  # type: ignore[assignment]

    def add_command(self, cmd: _click.Command, name: str | None = None) -> None:
        raise TypeError("add a CommandEntry to the table instead (hpccache_cli.cli.app)")

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [entry.name for entry in self.table]

    def format_commands(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The command list from the table: no command module is imported."""
        write_commands(formatter, [(entry.name, entry.short_help) for entry in self.table])

    def shell_complete(self, ctx: _click.Context, incomplete: str) -> list[CompletionItem]:
        """Command names with the short help Click would give them, from the table."""
        items = [CompletionItem(entry.name, help=make_default_short_help(entry.short_help))
                 for entry in self.table if entry.name.startswith(incomplete)]
        return items + _click.Command.shell_complete(self, ctx, incomplete)


__all__ = ["CommandEntry", "LazyCommands", "LazyGroup", "PlainHelpGroup",
           "SectionedHelpCommand", "build_command", "hang_list_items", "plain_help"]

"""Long ``--help`` texts of the commands, out of the command modules (#18).

One small module per command, holding only its ``HELP`` string: the command module imports
it when the command is built (``hpccache --help`` reads the first sentences from
``cli/app.py`` ``COMMANDS`` and imports none of these), so start-up costs one cached bytecode
load per command that runs. Help is Click's plain text: paragraphs and list items separated
by a blank line, no Rich markup (docs/DEVELOPING.md, "Adding a command").
"""

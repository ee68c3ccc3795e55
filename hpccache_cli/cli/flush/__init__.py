"""The flush commands' command-line side (``flush``, ``flush-file``, ``demo``): the console
(:mod:`.progress`: a Rich bar or plain lines), the summary and the lines after it
(:mod:`.runner`).

The run itself is the flush job, :mod:`hpccache_cli.jobs.flush` (no Typer, no Rich). The
other modules here are its old import paths, kept as re-exports for code written against them
(``cli/refresh_run.py`` before #18, commands written beside it).
"""

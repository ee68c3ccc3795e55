"""The jobs layer: what a command runs, without the command line.

Between ``cli/`` (Typer options, rendering) and the libraries (``flush/``, ``control/``,
``paths/``, ``pipelines/``): a job takes one typed request and returns one outcome. Each
command builds a request from its options and renders the outcome; a Python script builds the
same request and reads the same outcome, so ``--cache``, ``--fallback`` and the records are
the same code whether they come from a shell or from Python.

Nothing here imports Typer or Rich (tests/test_architecture.py): a console is passed in.
"""

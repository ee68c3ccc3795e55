"""Option groups, each declared once: :mod:`.grouping` (the mechanism), :mod:`.nfs` (the
NFS connection options), :mod:`.paths` (what ``flush``, ``refresh`` and ``copy`` share:
input, where, output, pipelines). The Azure options are in ``cli/azure_options.py`` (its own
home since 0.1; it re-exports nothing from here but the mechanism). Light: no Typer import
beyond what the declarations need, no SDK."""

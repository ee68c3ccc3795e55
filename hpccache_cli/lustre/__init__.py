"""Azure Managed Lustre per file: the Lustre HSM side, the Blob side, and one verdict per file.

A library (no Typer, Rich or ARM): :mod:`hsm_state` reads ``lfs`` output, :mod:`hsm` runs
``lfs`` in batches behind the :class:`~hpccache_cli.lustre.hsm.HsmSide` interface,
:mod:`mounts` maps client paths to file-system paths and blob names, :mod:`blobs` lists the
container per directory, :mod:`verdicts` joins both sides, :mod:`state` runs the whole
question for many files, :mod:`export` queues archives and waits per file.
"""

"""hpccache-cli: flush files from Azure HPC Cache to long-term storage, per file."""

__version__ = "0.4.1"

"""Allow ``python -m hpccache_cli``."""

from hpccache_cli.cli.entry import main

main()

"""Allow ``python -m hpccache_cli``."""

from hpccache_cli.cli.app import main

main()

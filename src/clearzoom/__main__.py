"""``python -m clearzoom``: the command line."""

from .cli.main import main

main()

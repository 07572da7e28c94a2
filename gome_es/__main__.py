"""python -m gome_es: the gome command line."""

from .cli.main import cli

cli()

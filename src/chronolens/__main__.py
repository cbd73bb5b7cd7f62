"""``python -m chronolens`` runs the CLI."""

from chronolens.cli.main import entry

entry()

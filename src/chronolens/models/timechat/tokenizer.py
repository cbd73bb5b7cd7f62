"""The word-level tokenizer of TimeChat's tiny configurations (the tiny LLM and the tiny Q-Former text).

Words keep their leading space as a ``▁`` marker (SentencePiece's Metaspace convention; a word at
the start of a text or line has none, and the vocabulary holds both spellings), digits
are split one per token and punctuation is isolated, so ``"from 12.5 to 20 seconds."`` becomes
``▁from ▁ 1 2 . 5 ▁to ▁ 2 0 ▁seconds .`` and decodes back to the same text. Splitting digits lets
a small vocabulary write any timestamp (LLaMA's tokenizer also splits digits). The vocabulary is
every piece the pre-tokenizer produces on the given corpus, plus the digits and common
punctuation, so it is exact for the synthetic benchmark's instruction data.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

__all__ = [
    "BOS_TOKEN",
    "EOS_TOKEN",
    "PAD_TOKEN",
    "UNK_TOKEN",
    "VIDEO_TOKEN",
    "add_video_token",
    "build_text_tokenizer",
]

PAD_TOKEN = "<pad>"
UNK_TOKEN = "<unk>"
BOS_TOKEN = "<bos>"
EOS_TOKEN = "<eos>"
VIDEO_TOKEN = "<video>"  # the prompt placeholder where video tokens are spliced (one id, never split)
SPECIAL_TOKENS = (PAD_TOKEN, UNK_TOKEN, BOS_TOKEN, EOS_TOKEN, VIDEO_TOKEN)  # ids 0..4 in this order
WORD_MARK = "▁"  # marks a piece that followed a space
# Pieces every vocabulary holds, whatever the corpus: digits, the word mark and common punctuation.
_ALWAYS = (WORD_MARK, *"0123456789", *".,:;-?!'\"()%/", "\n")


def _core_tokenizer(vocab: dict[str, int]) -> Tokenizer:
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import WordLevel

    core = Tokenizer(WordLevel(vocab=vocab, unk_token=UNK_TOKEN))
    core.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex("\n"), behavior="isolated"),
            pre_tokenizers.Metaspace(replacement=WORD_MARK, prepend_scheme="first"),
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.Punctuation(behavior="isolated"),
        ]
    )
    core.decoder = decoders.Metaspace(replacement=WORD_MARK, prepend_scheme="first")
    return core


def build_text_tokenizer(
    corpus: Iterable[str],
    *,
    max_length: int = 512,
    min_count: int = 1,
    extra_special_tokens: Sequence[str] = (),
) -> PreTrainedTokenizerFast:
    """Build a word-level tokenizer whose vocabulary is every piece of ``corpus``.

    Ids are deterministic: ``<pad> <unk> <bos> <eos> <video>`` take ids 0-4, then the pieces in
    sorted order. ``<video>`` is a special token, so it is never split and is dropped by
    ``decode(..., skip_special_tokens=True)``. Encoding adds ``<bos>`` in front (LLaMA style);
    callers that assemble sequences themselves pass ``add_special_tokens=False``.

    Args:
        corpus: texts the model will see (prompts, answers, timestamp instructions).
        max_length: ``model_max_length`` of the tokenizer.
        min_count: pieces seen fewer times map to ``<unk>`` (digits and punctuation always stay).
        extra_special_tokens: more never-split special tokens (VTG-LLM's time tokens ``<tK>``),
            given the ids after every piece, in this order.

    Returns:
        A ``PreTrainedTokenizerFast`` padding on the right; ``save_pretrained`` / ``AutoTokenizer``
        round-trip it offline.
    """
    from tokenizers import AddedToken, processors
    from transformers import PreTrainedTokenizerFast

    if max_length < 2:
        raise ValueError(f"max_length must be >= 2, got {max_length}")
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    splitter = _core_tokenizer({UNK_TOKEN: 0})
    assert splitter.normalizer is not None and splitter.pre_tokenizer is not None
    counts: Counter[str] = Counter()
    for text in corpus:
        normalised = splitter.normalizer.normalize_str(text)
        counts.update(piece for piece, _ in splitter.pre_tokenizer.pre_tokenize_str(normalised))
    vocab = {token: idx for idx, token in enumerate(SPECIAL_TOKENS)}
    words = {w for w, c in counts.items() if c >= min_count} | set(_ALWAYS)
    # A word starts with the mark after a space but not at a line start: know both spellings.
    words |= {
        w[1:] if w.startswith(WORD_MARK) else WORD_MARK + w for w in words if w.strip(WORD_MARK).isalpha()
    }
    for word in sorted(words - set(vocab)):
        vocab[word] = len(vocab)
    extra = [tok for tok in dict.fromkeys(extra_special_tokens) if tok not in vocab]
    for token in extra:
        vocab[token] = len(vocab)

    core = _core_tokenizer(vocab)
    core.add_special_tokens(
        [AddedToken(tok, special=True, normalized=False) for tok in (*SPECIAL_TOKENS, *extra)]
    )
    core.post_processor = processors.TemplateProcessing(
        single=f"{BOS_TOKEN} $A", pair=f"{BOS_TOKEN} $A $B", special_tokens=[(BOS_TOKEN, vocab[BOS_TOKEN])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=UNK_TOKEN,
        pad_token=PAD_TOKEN,
        additional_special_tokens=[VIDEO_TOKEN, *extra],
        model_max_length=max_length,
        padding_side="right",
        truncation_side="right",
        model_input_names=["input_ids", "attention_mask"],
    )


def add_video_token(tokenizer: Any) -> None:
    """Register ``<video>`` as a special token of a pretrained LLM's ``tokenizer`` (no-op when present).

    The LLM's embedding table is not resized: the placeholder's embedding is never looked up,
    it is replaced by the video tokens.
    """
    if VIDEO_TOKEN in tokenizer.get_vocab():
        return
    tokenizer.add_special_tokens({"additional_special_tokens": [VIDEO_TOKEN]})

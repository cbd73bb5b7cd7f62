"""COCO caption metrics with pycocoevalcap 1.2 parity: BLEU, ROUGE-L, CIDEr-D, METEOR.

Scorers take already tokenised captions (``gts``: id -> references, ``res``: id -> [hypothesis])
and return ``(corpus, per_id)`` with per-id values ordered as the keys of ``gts``.
``evaluate_captions`` tokenises raw captions first (pure-Python PTB pipeline by default).
"""

from chronolens.metrics.captioning.bleu import bleu
from chronolens.metrics.captioning.cider import cider_d
from chronolens.metrics.captioning.evaluate import evaluate_captions, evaluate_files
from chronolens.metrics.captioning.meteor import MeteorScorer, find_meteor_jar, get_meteor_scorer, meteor
from chronolens.metrics.captioning.rouge import rouge_l
from chronolens.metrics.captioning.tokenizer import ptb_tokenize

__all__ = [
    "MeteorScorer",
    "bleu",
    "cider_d",
    "evaluate_captions",
    "evaluate_files",
    "find_meteor_jar",
    "get_meteor_scorer",
    "meteor",
    "ptb_tokenize",
    "rouge_l",
]

"""Multiple-choice answers: each candidate scored by the model, or read from a generated answer.

Two methods, one result type (:class:`ChoiceAnswer`):

- ``likelihood`` (default, TimeChat): the prompt is the question alone (as in ``ask``); each
  candidate is the answer, and its score is the model's mean log-probability per answer token,
  the closing eos included (teacher-forced, the same labels TimeChat trains on). The mean, not
  the sum, so longer candidates are not penalised for their length (lm-eval-harness's
  per-token normalisation, with tokens for bytes). The best score wins; ties go to the first.
  Nothing is parsed, so nothing can fail to parse.
- ``generate``: the candidates are listed in the prompt as ``(A) ...``, the model answers freely
  and :func:`parse_choice` reads the letter or the candidate's text from the answer. An answer
  naming no candidate, or several, is a parse failure (``choice`` None), never a guess.

Encoder-only models (CLIP-style) have their own scorer: :func:`encoder_choice`, the largest
cosine over frames of each candidate's text embedding.
"""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from chronolens.errors import ChronolensError

if TYPE_CHECKING:
    from chronolens.models.timechat import TimeChat
    from chronolens.models.timechat.features import VideoFeatures
    from chronolens.tasks.video import VideoEmbeddings

__all__ = [
    "CHOICE_METHODS",
    "ChoiceAnswer",
    "check_choices",
    "choice_prompt",
    "encoder_choice",
    "parse_choice",
    "parse_choices_text",
    "score_candidates",
]

CHOICE_METHODS: tuple[str, ...] = ("likelihood", "generate")
NORMALISATION = "mean log-probability per answer token (eos included)"
_LETTERS = string.ascii_uppercase


@dataclass(frozen=True, kw_only=True)
class ChoiceAnswer:
    """A multiple-choice answer: which candidate, and why."""

    question: str
    candidates: tuple[str, ...]
    choice: int | None  # index of the chosen candidate; None: the answer could not be parsed
    scores: tuple[float, ...] = ()  # per candidate (likelihood / encoder methods)
    method: str = "likelihood"  # "likelihood", "generate" or "encoder"
    text: str = ""  # the generated answer (method "generate")
    duration: float = 0.0  # seconds, as sampled

    @property
    def parsed(self) -> bool:
        """False when the generated answer names no single candidate."""
        return self.choice is not None

    @property
    def answer(self) -> str | None:
        """The chosen candidate's text (None when unparsed)."""
        return self.candidates[self.choice] if self.choice is not None else None

    def to_json(self) -> dict[str, Any]:
        """``{"question", "candidates", "choice", "answer", "parsed", "method", ...}``."""
        out: dict[str, Any] = {
            "question": self.question,
            "candidates": list(self.candidates),
            "choice": self.choice,
            "answer": self.answer,
            "parsed": self.parsed,
            "method": self.method,
            "duration": self.duration,
        }
        if self.scores:
            out["scores"] = list(self.scores)
        if self.method == "likelihood":
            out["normalisation"] = NORMALISATION
        if self.method == "generate":
            out["text"] = self.text
        return out


def parse_choices_text(text: str) -> list[str]:
    """Candidates from ``"a|b|c"`` (``|``-separated, blanks dropped); see :func:`check_choices`."""
    return check_choices(text.split("|"))


def check_choices(candidates: Sequence[str]) -> list[str]:
    """Stripped candidates; at least two, none repeated.

    Raises:
        ChronolensError: fewer than two, or a repeat.
    """
    out = [c.strip() for c in candidates if c.strip()]
    if len(out) < 2:
        raise ChronolensError(
            "multiple choice needs at least two candidates (e.g. --choices 'red|blue|green')"
        )
    if len(out) > len(_LETTERS):
        raise ChronolensError(f"at most {len(_LETTERS)} candidates, got {len(out)}")
    folded = [c.casefold() for c in out]
    for i, c in enumerate(folded):
        if c in folded[:i]:
            raise ChronolensError(f"candidate {out[i]!r} is given twice")
    return out


def choice_prompt(question: str, candidates: Sequence[str]) -> str:
    """The ``generate`` method's instruction: the question, lettered candidates, how to answer."""
    lines = [question.strip(), *(f"({_LETTERS[i]}) {c}" for i, c in enumerate(candidates))]
    lines.append("Answer with the option's letter from the given choices directly.")
    return "\n".join(lines)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def parse_choice(text: str, candidates: Sequence[str]) -> int | None:
    """Which candidate a generated answer names, or None.

    Read in order: a leading letter (``"B"``, ``"(B)"``, ``"B."``, ``"B) ..."``, ``"Option B"``;
    not ``"A red ..."``, where the letter is a word);
    else the one candidate whose text (normalised: case, punctuation, spaces) the answer equals,
    else the one candidate whose text it contains. Several or none: None (a parse failure).
    """
    stripped = text.strip()
    letters = _LETTERS[: len(candidates)]
    patterns = (
        rf"^\(?([{letters}{letters.lower()}])\)?\.?$",  # "B", "(b)", "B."
        rf"^\(([{letters}])\)",  # "(B) red"
        rf"^([{letters}])[.):]",  # "B. red", "B) red", "B: red" (not "A red ...": a word)
        rf"^(?:[Oo]ption|[Aa]nswer)\s*:?\s*\(?([{letters}])\b",  # "Option B", "Answer: (B)"
    )
    for pattern in patterns:
        match = re.match(pattern, stripped)
        if match is not None:
            return letters.index(match.group(1).upper())
    answer = _norm(stripped)
    if not answer:
        return None
    normed = [_norm(c) for c in candidates]
    exact = [i for i, c in enumerate(normed) if c == answer]
    if len(exact) == 1:
        return exact[0]
    contained = [i for i, c in enumerate(normed) if c and re.search(rf"\b{re.escape(c)}\b", answer)]
    # a candidate inside another ("red" in "dark red") counts once: keep the longest matches only
    longest = [i for i in contained if not any(j != i and normed[i] in normed[j] for j in contained)]
    return longest[0] if len(longest) == 1 else None


def score_candidates(
    model: TimeChat,
    video: VideoFeatures,
    question: str,
    candidates: Sequence[str],
    *,
    transcript: str | None = None,
) -> list[float]:
    """Mean log-probability per answer token (eos included) of each candidate given the question.

    Args:
        model: a TimeChat model (eval mode).
        video: the sampled video.
        question: the question (wrapped by ``build_prompt``).
        candidates: C candidate answers.
        transcript: timestamped transcript lines for the prompt.

    Returns:
        C scores (<= 0), higher is more likely.
    """
    import torch

    from chronolens.models.timechat.prompting import IGNORE_INDEX, TimeChatSample, build_prompt, collate

    prompt = build_prompt(question, transcript)
    samples = [
        TimeChatSample(
            features=video.features,
            timestamps=video.timestamps,
            prompt=prompt,
            answer=candidate,
            video=str(video.path),
            duration=float(video.duration),
            transcript=transcript,
        )
        for candidate in candidates
    ]
    batch = collate(samples, model.tokenizer, model.config).to(model.device)
    with torch.inference_mode():
        out = model(batch)
        assert out.labels is not None  # collate always gives labels
        logits = out.logits[:, :-1].float()  # (C, L'-1, V): position i predicts token i + 1
        target = out.labels[:, 1:]  # (C, L'-1)
        keep = target != IGNORE_INDEX
        logp = torch.log_softmax(logits, dim=-1).gather(-1, target.clamp(min=0).unsqueeze(-1)).squeeze(-1)
        total = (logp * keep).sum(dim=1)  # (C,)
        count = keep.sum(dim=1).clamp(min=1)  # (C,)
    return [float(s) for s in (total / count).tolist()]


def encoder_choice(source: VideoEmbeddings, question: str, candidates: Sequence[str]) -> ChoiceAnswer:
    """CLIP-style multiple choice for encoder-only models: the candidate seen most clearly.

    Each candidate's text embedding is compared with every frame; its score is the largest
    cosine over frames. The question is not read (an image-text encoder cannot follow it), so
    this is a baseline for questions whose answer is visible, not a reasoner.
    """
    text = np.asarray(source.encoder.encode_texts(list(candidates)), dtype=np.float32)  # (C, D)
    if source.embeddings.shape[0] == 0:
        raise ChronolensError(f"{source.path}: no frames (zero-frame video)")
    scores = (source.embeddings @ text.T).max(axis=0)  # (C,)
    return ChoiceAnswer(
        question=question,
        candidates=tuple(candidates),
        choice=int(np.argmax(scores)),
        scores=tuple(float(s) for s in scores),
        method="encoder",
        duration=float(source.duration),
    )

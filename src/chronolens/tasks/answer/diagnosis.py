"""Why an answer came back empty: what the model wrote and what its checkpoint was trained on.

An exported TimeChat checkpoint (``save_timechat``) is the ``model/`` folder of a training run
directory (``chronolens train timechat --out RUN`` writes ``RUN/model``). Beside it the run keeps
``recipe.json`` (the resolved recipe: ``train.steps``, ``data.tasks``) and ``train_log.jsonl`` (one
JSON record per logged step, an ``"end"`` record per finished stage). :func:`training_record`
reads those two files; :func:`empty_answer_note` turns an empty or unparseable answer plus that
record into the one sentence ``chronolens caption`` / ``ask`` print on stderr and put in ``"note"``.

The file names are the training recipe's (``training.recipes.timechat.settings.RECIPE_FILE``,
``training.loop.LOG_FILE``); they are repeated here as plain names because tasks sit below
training in the house and must not import it.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["SHORT_RUN_STEPS", "TrainingRecord", "empty_answer_note", "training_record"]

logger = logging.getLogger(__name__)

RECIPE_FILE = "recipe.json"  # the run's resolved recipe, beside the exported model/
LOG_FILE = "train_log.jsonl"  # the main stage's loss log, beside the exported model/
# Main-stage steps below which a run is called short: the shipped tiny-cpu recipe trains 2,500
# and grounds at R1@0.5 ~36 (README); at a few hundred steps it has barely learnt the answer form.
SHORT_RUN_STEPS = 1000
DEMO_HINT = "train longer (chronolens train timechat) or try `chronolens demo --timechat`"
AnswerKind = Literal["caption", "ask"]


@dataclass(frozen=True, kw_only=True)
class TrainingRecord:
    """What a checkpoint's run directory says about the training that produced it."""

    steps: int | None  # main-stage optimizer steps completed (the last logged step)
    planned_steps: int | None  # the recipe's train.steps
    final_loss: float | None  # mean loss of the last logged window
    tasks: tuple[str, ...]  # TimeIT tasks trained on (data.tasks; () = all)

    def describe(self) -> str:
        """``"trained for only 100 steps (final loss 7.65)"`` and the like."""
        if self.steps is None:
            return "its run recorded no finished training step"
        only = "only " if self.steps < SHORT_RUN_STEPS else ""
        text = f"trained for {only}{self.steps:,} step{'s' if self.steps != 1 else ''}"
        if self.final_loss is not None:
            text += f" (final loss {self.final_loss:.2f})"
        return text


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _last_step(log: Path) -> tuple[int | None, float | None]:
    """The last ``"step"`` record's step and loss in a loss log (a rerun appends to it)."""
    step: int | None = None
    loss: float | None = None
    try:
        lines = log.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None, None
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("event") == "start":  # a new run starts over (or resumes from its step)
            start = record.get("step")
            step, loss = (start if isinstance(start, int) and start > 0 else None), None
        elif record.get("event") == "step" and isinstance(record.get("step"), int):
            step = record["step"]
            value = record.get("loss")
            loss = float(value) if isinstance(value, int | float) and math.isfinite(value) else None
    return step, loss


def training_record(checkpoint: str | Path) -> TrainingRecord | None:
    """What the run directory around ``checkpoint`` (``RUN/model``) records about its training.

    Returns:
        None when there is no run directory beside it (a hand-exported or untrained model).
    """
    run = Path(checkpoint).parent
    recipe = _read_json(run / RECIPE_FILE)
    log = run / LOG_FILE
    if not isinstance(recipe, dict) and not log.is_file():
        return None
    train = recipe.get("train", {}) if isinstance(recipe, dict) else {}
    data = recipe.get("data", {}) if isinstance(recipe, dict) else {}
    planned = train.get("steps") if isinstance(train, dict) else None
    tasks = data.get("tasks", ()) if isinstance(data, dict) else ()
    step, loss = _last_step(log)
    return TrainingRecord(
        steps=step,
        planned_steps=planned if isinstance(planned, int) else None,
        final_loss=loss,
        tasks=tuple(t for t in tasks if isinstance(t, str)) if isinstance(tasks, list) else (),
    )


def _task_gap(record: TrainingRecord, kind: AnswerKind) -> str:
    """A clause when the checkpoint never saw the task asked (dense captions for ``caption``)."""
    from chronolens.data.formats.timeit_tasks import DVC

    if kind == "caption" and record.tasks and DVC not in record.tasks:
        return f"; it was trained on {', '.join(record.tasks)} only, never on dense captions ({DVC})"
    return ""


def empty_answer_note(
    text: str,
    *,
    kind: AnswerKind,
    checkpoint: str | Path | None,
    parsed: bool = False,
) -> str | None:
    """One line saying why an answer is empty, or None when it is not.

    Args:
        text: the model's answer (decoded, special tokens dropped, stripped).
        kind: ``"caption"`` (an answer without timestamped events is empty) or ``"ask"`` (only
            an empty text is).
        checkpoint: the checkpoint directory (None: an in-memory model, nothing to read).
        parsed: ``caption`` only: timestamped events were read from ``text``.

    Returns:
        E.g. ``"the model generated no text (it ended its answer at once or wrote only special
        tokens) — a checkpoint trained for only 100 steps (final loss 7.65); train longer ..."``.
    """
    if text.strip():
        if kind == "ask" or parsed:
            return None
        what = "no timestamped events in the model's answer (the text is printed as it came)"
    else:
        what = "the model generated no text (it ended its answer at once or wrote only special tokens)"
    record = training_record(checkpoint) if checkpoint is not None else None
    if checkpoint is None:
        why = "a model in memory, with no training run to read"
    elif record is None:
        why = "a checkpoint with no training run beside it (untrained or exported by hand)"
    else:
        why = f"a checkpoint {record.describe()}{_task_gap(record, kind)}"
    return f"{what} — {why}; {DEMO_HINT}"

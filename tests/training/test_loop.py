"""The generic training loop: determinism, resume == uninterrupted, safetensors checkpoints, LR schedule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from chronolens.training import checkpoint as ckpt
from chronolens.training.loop import LoopConfig, cosine_lr, train


class InterruptedRunError(Exception):
    """Simulates a kill in the middle of a run."""


class TinyTask:
    """Regression with dropout (so RNG state matters) and one frozen parameter."""

    def __init__(self, seed: int, fail_at: int | None = None) -> None:
        torch.manual_seed(seed)
        self._model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.Linear(8, 1))
        self._model[0].bias.requires_grad_(False)
        self.fail_at = fail_at
        self.after_steps = 0

    @property
    def model(self) -> nn.Module:
        return self._model

    def make_batch(
        self, step: int, micro: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.fail_at is not None and step == self.fail_at:
            raise InterruptedRunError
        x = torch.randn(5, 4, generator=generator)
        return x, x.sum(dim=1, keepdim=True)

    def loss(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        x, y = batch
        return nn.functional.mse_loss(self._model(x), y)

    def batch_size(self, batch: tuple[torch.Tensor, torch.Tensor]) -> int:
        return int(batch[0].shape[0])

    def after_step(self) -> None:
        self.after_steps += 1


def _config(**kw: object) -> LoopConfig:
    base: dict[str, object] = dict(
        steps=6,
        lr=0.05,
        warmup_steps=2,
        grad_accum=2,
        seed=7,
        checkpoint_every=2,
        log_every=2,
        progress=False,
    )
    base.update(kw)
    return LoopConfig(**base)  # type: ignore[arg-type]


def _weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_loss_decreases_and_run_is_deterministic(tmp_path: Path) -> None:
    a, b = TinyTask(seed=0), TinyTask(seed=0)
    ra = train(a, _config(steps=20, checkpoint_every=0), tmp_path / "a")
    rb = train(b, _config(steps=20, checkpoint_every=0), tmp_path / "b")
    assert ra.losses == rb.losses
    assert sum(ra.losses[-5:]) < sum(ra.losses[:5])
    assert a.after_steps == 20
    assert ra.samples == 20 * 2 * 5
    for k, v in _weights(a.model).items():
        assert torch.equal(v, _weights(b.model)[k])


def test_resume_gives_same_weights_as_uninterrupted(tmp_path: Path) -> None:
    full = TinyTask(seed=0)
    result_full = train(full, _config(), tmp_path / "full")

    run = tmp_path / "resumed"
    first = TinyTask(seed=0, fail_at=3)
    with pytest.raises(InterruptedRunError):
        train(first, _config(), run)
    latest = ckpt.find_latest(run / "checkpoints")
    assert latest is not None and latest.step == 2
    # A fresh process: same frozen base weights (they are not checkpointed), but scrambled trainable
    # weights and RNG, so everything else must come from the checkpoint.
    second = TinyTask(seed=0)
    with torch.no_grad():
        for param in second.model.parameters():
            if param.requires_grad:
                param.add_(1.0)
    torch.manual_seed(999)
    result = train(second, _config(), run, resume=True)
    assert result.start_step == 2 and result.steps == 6
    assert result.losses == result_full.losses[2:]
    for k, v in _weights(full.model).items():
        assert torch.equal(v, _weights(second.model)[k]), k


def test_checkpoints_are_safetensors_with_trainable_weights_only(tmp_path: Path) -> None:
    from safetensors.torch import load_file

    task = TinyTask(seed=0)
    train(task, _config(keep_checkpoints=2), tmp_path)
    root = tmp_path / "checkpoints"
    names = sorted(p.name for p in root.iterdir())
    assert names == ["step-00000004", "step-00000006"]  # older ones pruned, no temp dirs left
    final = root / "step-00000006"
    weights = load_file(str(final / ckpt.WEIGHTS_FILE))
    trainable = {n for n, p in task.model.named_parameters() if p.requires_grad}
    assert set(weights) == trainable and "0.bias" not in weights
    for name, param in task.model.named_parameters():
        if param.requires_grad:
            assert torch.equal(weights[name], param.detach())
    state = json.loads((final / ckpt.STATE_FILE).read_text())
    assert state["step"] == 6 and {"python", "numpy", "torch"} <= set(state["rng"])
    opt_state = torch.load(final / ckpt.OPTIMIZER_FILE, weights_only=True)
    assert "state" in opt_state and "param_groups" in opt_state
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if r["event"] == "step"] == [2, 4, 6]
    assert all(r["loss"] > 0 and r["samples_per_s"] > 0 for r in log if r["event"] == "step")


def test_checkpoint_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    task = TinyTask(seed=0)
    opt = torch.optim.SGD(task.model.parameters(), lr=0.1)
    ckpt.save_checkpoint(tmp_path, 1, task.model, opt)

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint(tmp_path, 2, task.model, opt)
    latest = ckpt.find_latest(tmp_path)
    assert latest is not None and latest.step == 1  # the half-written step 2 is not a checkpoint
    assert not (tmp_path / "step-00000002").exists()


def test_checkpoint_mismatch_is_a_clear_error(tmp_path: Path) -> None:
    from chronolens.errors import ChronolensError

    task = TinyTask(seed=0)
    opt = torch.optim.SGD(task.model.parameters(), lr=0.1)
    saved = ckpt.save_checkpoint(tmp_path, 1, task.model, opt)
    other = nn.Linear(2, 2)
    with pytest.raises(ChronolensError, match="does not match"):
        ckpt.load_checkpoint(saved, other, torch.optim.SGD(other.parameters(), lr=0.1))


def test_cosine_schedule() -> None:
    cfg = LoopConfig(steps=11, lr=1.0, warmup_steps=2, min_lr_ratio=0.1)
    assert cosine_lr(0, cfg) == pytest.approx(0.5)
    assert cosine_lr(1, cfg) == pytest.approx(1.0)
    assert cosine_lr(2, cfg) == pytest.approx(1.0)
    mid = cosine_lr(2 + 9 // 2, cfg)
    assert 0.1 < mid < 1.0
    assert cosine_lr(11, cfg) == pytest.approx(0.1)
    lrs = [cosine_lr(s, cfg) for s in range(2, 11)]
    assert lrs == sorted(lrs, reverse=True)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", 0),
        ("lr", 0.0),
        ("warmup_steps", 50),
        ("grad_accum", 0),
        ("max_grad_norm", 0.0),
        ("log_every", 0),
    ],
)
def test_config_validation_names_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        _config(**{field: value})


def test_progress_bar_follows_the_one_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    # requested but stderr is not a terminal: nothing drawn
    train(TinyTask(seed=0), _config(steps=2, progress=True), tmp_path / "pipe")
    assert "train" not in capsys.readouterr().err
    # requested on a terminal: the "train" bar counts steps
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    train(TinyTask(seed=0), _config(steps=2, progress=True), tmp_path / "tty")
    err = capsys.readouterr().err
    assert "train: 100%" in err and "2/2 [" in err
    # not requested, even on a terminal: nothing drawn
    train(TinyTask(seed=0), _config(steps=2, progress=False), tmp_path / "quiet")
    assert "train" not in capsys.readouterr().err


def test_loop_config_clamps_the_warmup_to_the_run() -> None:
    from chronolens.training.loop import loop_config

    assert loop_config(steps=3, warmup_steps=50).warmup_steps == 3
    assert loop_config(steps=100, warmup_steps=50, lr=0.1) == LoopConfig(steps=100, warmup_steps=50, lr=0.1)

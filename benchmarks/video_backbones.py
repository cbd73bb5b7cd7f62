"""Cost of video backbones per clip: TimeSformer divided vs joint space-time attention vs a 3D CNN.

The numbers behind "3D CNN cost grows with frames, divided attention is cheaper" (issue 21, item 4).
For each frame count it builds, with random init from a config (no hub access):

  - ``divided``: transformers' ``TimesformerModel`` with ``attention_type="divided_space_time"``
    (temporal attention over the T frames at each patch, then spatial attention within each frame);
  - ``joint``: the same with ``attention_type="joint_space_time"`` (one attention over all T*P
    tokens);
  - ``conv3d``: a C3D/I3D-style stack of ``nn.Conv3d`` blocks written here (:class:`Conv3dBaseline`),
    whose total spatial stride equals the patch size, so it ends on the same token grid, with
    widths tied to ``--hidden`` so its parameter count is within ~2x of the TimeSformers'.

and prints, per clip (batch 1): parameters, FLOPs from ``torch.utils.flop_counter.FlopCounterMode``
(2 FLOPs per multiply-add), the attention share of them, peak memory, wall time (median of
``--repeats`` runs after ``--warmup``), and each figure as a ratio against ``divided`` at the same
frame count.

FLOP counting: ``FlopCounterMode`` counts the fused ``scaled_dot_product_attention`` kernels only
for some backends (the CUDA flash/efficient/cudnn ones; on CPU torch 2.13 it dispatches to
``_scaled_dot_product_flash_attention_for_cpu``, which is not registered, so it counts 0). The
script probes this and logs what it found. TimeSformer in transformers does not call SDPA: it
computes attention as explicit ``q @ k^T`` and ``p @ v`` matmuls, which the counter sees as
``aten.bmm``; the attention FLOPs column is that count, checked against the closed form
(:func:`attention_flops_theory`).

Peak memory: on CUDA, ``torch.cuda.max_memory_allocated`` during the forward minus what was
allocated before it. On CPU (where tracemalloc does not see torch's allocator) it is counted
instead of sampled: a ``TorchDispatchMode`` adds the bytes of every new tensor storage an op
creates and subtracts them when the storage is freed, and reports the high-water mark
(:class:`LiveTensorBytes`). Both figures exclude the weights and the input clip.

Run (default: small, ~minutes on 2 CPU cores)::

    .venv/bin/python benchmarks/video_backbones.py --frames 8 16 32 64 [--json OUT]

Paper size (TimeSformer-Base: 224 px, patch 16, D=768, 12 layers, 12 heads) on a GPU::

    .venv/bin/python benchmarks/video_backbones.py --paper --device cuda --frames 8 16 32 64
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import statistics
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

logger = logging.getLogger("benchmarks.video_backbones")

BACKBONES = ("divided", "joint", "conv3d")  # row order; "divided" is the ratio baseline
BASELINE = "divided"
_ATTENTION_TYPES = {"divided": "divided_space_time", "joint": "joint_space_time"}
MLP_RATIO = 4  # TimeSformer intermediate_size / hidden_size, as in the paper
PARAM_RATIO_LIMIT = 2.0  # conv3d params must be within this factor of each TimeSformer's
MIB = 2**20


@dataclass(frozen=True, kw_only=True)
class BenchConfig:
    """Shapes and measurement settings shared by every backbone in one run."""

    image_size: int = 112  # input height = width, pixels
    patch_size: int = 16  # TimeSformer patch side, pixels; also the 3D CNN's total spatial stride
    hidden: int = 192  # TimeSformer width D; the 3D CNN's final channel count
    layers: int = 4  # TimeSformer blocks; the 3D CNN gets max(1, layers // 2) full-width blocks
    heads: int = 3  # attention heads (head dim = hidden / heads)
    device: str = "cpu"  # torch device the models run on
    warmup: int = 2  # untimed forwards before timing
    repeats: int = 5  # timed forwards; the median is reported
    seed: int = 0  # torch seed for weights and the input clip

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size:
            raise ValueError(
                f"image_size {self.image_size} must be a multiple of patch_size {self.patch_size}"
            )
        if self.patch_size < 2 or self.patch_size & (self.patch_size - 1):
            raise ValueError(
                f"patch_size must be a power of two >= 2 (the 3D CNN downsamples by 2), got {self.patch_size}"
            )
        if self.hidden % self.heads:
            raise ValueError(f"hidden {self.hidden} must be divisible by heads {self.heads}")
        if self.hidden % (self.patch_size // 2):
            raise ValueError(
                f"hidden {self.hidden} must be divisible by patch_size/2 = {self.patch_size // 2}"
            )
        if self.layers < 1 or self.repeats < 1 or self.warmup < 0:
            raise ValueError("layers and repeats must be >= 1 and warmup >= 0")

    @property
    def patches(self) -> int:
        """Patches (tokens) per frame, P."""
        return (self.image_size // self.patch_size) ** 2


@dataclass(frozen=True, kw_only=True)
class Measurement:
    """One backbone at one frame count, per clip (batch 1)."""

    backbone: str  # "divided" | "joint" | "conv3d"
    frames: int  # T
    params: int  # trainable parameters
    flops: int  # FlopCounterMode total, FLOPs (2 per multiply-add)
    attention_flops: int  # the attention matmuls' share of ``flops`` (aten.bmm); 0 for conv3d
    attention_flops_theory: int  # closed form of the same (attention_flops_theory)
    peak_bytes: int  # peak memory above weights + input during the forward, bytes
    peak_method: str  # how peak_bytes was measured
    wall_s: float  # median forward time, seconds
    ratios: dict[str, float] = dataclasses.field(default_factory=dict)  # vs divided at the same T


class Conv3dBaseline(nn.Module):
    """A C3D/I3D-style 3D CNN: 3D convs + BN + ReLU, spatial downsampling only, global mean pool.

    Written here (no library ships C3D in torch). Like C3D it uses 3x3x3 kernels; like I3D's
    stem a 3x7x7 first conv and batch norm. Time keeps its resolution (stride 1, padding 1), so
    every conv's cost is exactly proportional to T. Layout: stem 3x7x7 stride (1,2,2) to
    ``hidden / 2**n``; ``n = log2(patch) - 1`` stages of 3x3x3 stride (1,2,2) doubling the width
    up to ``hidden``; ``blocks`` more 3x3x3 convs at ``hidden``. The final grid is
    ``image/patch`` squared, the TimeSformer token grid.
    """

    def __init__(self, *, hidden: int, patch_size: int, blocks: int) -> None:
        super().__init__()
        n_down = int(math.log2(patch_size)) - 1
        width = hidden // 2**n_down
        layers: list[nn.Module] = [*self._block(3, width, (3, 7, 7), (1, 2, 2))]
        for _ in range(n_down):
            layers += self._block(width, width * 2, (3, 3, 3), (1, 2, 2))
            width *= 2
        for _ in range(blocks):
            layers += self._block(width, width, (3, 3, 3), (1, 1, 1))
        self.features = nn.Sequential(*layers)

    @staticmethod
    def _block(
        c_in: int, c_out: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]
    ) -> list[nn.Module]:
        padding = (kernel[0] // 2, kernel[1] // 2, kernel[2] // 2)
        return [
            nn.Conv3d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm3d(c_out),
            nn.ReLU(inplace=True),
        ]

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """Embed clips.

        Args:
            clip: ``(B, 3, T, H, W)`` float.

        Returns:
            ``(B, hidden)`` mean-pooled features.
        """
        return self.features(clip).mean(dim=(2, 3, 4))  # (B, C, T, h, w) -> (B, C)


class LiveTensorBytes(TorchDispatchMode):
    """Peak bytes of tensor storages created under this mode and still alive (a CPU memory meter).

    Every op's outputs are inspected; a storage not seen before adds its ``nbytes`` and a
    finalizer subtracts them when the storage is freed. Views and in-place ops reuse a storage
    and add nothing. Tensors that existed before entering (weights, input) are not counted.
    """

    def __init__(self) -> None:
        super().__init__()
        self.live = 0  # bytes alive now
        self.peak = 0  # high-water mark of ``live``
        self._seen: set[int] = set()

    def _release(self, key: int, nbytes: int) -> None:
        self.live -= nbytes
        self._seen.discard(key)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for tensor in tree_flatten(out)[0]:
            if not isinstance(tensor, torch.Tensor):
                continue
            storage = tensor.untyped_storage()
            key, nbytes = storage.data_ptr(), storage.nbytes()
            if nbytes == 0 or key in self._seen:
                continue
            self._seen.add(key)
            self.live += nbytes
            self.peak = max(self.peak, self.live)
            weakref.finalize(storage, self._release, key, nbytes)
        return out


def sdpa_is_counted() -> bool:
    """Whether FlopCounterMode counts ``scaled_dot_product_attention`` on this build's CPU path."""
    q = torch.randn(1, 1, 8, 8)
    with FlopCounterMode(display=False) as counter:
        nn.functional.scaled_dot_product_attention(q, q, q)
    return counter.get_total_flops() > 0


def attention_flops_theory(backbone: str, *, frames: int, patches: int, hidden: int, layers: int) -> int:
    """Closed-form FLOPs of the attention matmuls (``q k^T`` and ``p v``, 2 FLOPs per MAC).

    One attention over ``n`` tokens of width ``D`` costs ``2 * (2 n^2 D)``. Joint attention runs
    once over ``T*P + 1`` tokens (the +1 is CLS): ``4 D (T P + 1)^2`` per layer, quadratic in T.
    Divided runs temporal attention over T tokens at each of P patches and spatial attention over
    ``P + 1`` tokens in each of T frames: ``4 D (P T^2 + T (P + 1)^2)`` per layer -- the spatial
    term is linear in T and the temporal term quadratic but with coefficient P instead of P^2.

    Returns:
        FLOPs for the whole encoder (``layers`` blocks); 0 for ``conv3d``.
    """
    t, p, d = frames, patches, hidden
    if backbone == "joint":
        return layers * 4 * d * (t * p + 1) ** 2
    if backbone == "divided":
        return layers * 4 * d * (p * t * t + t * (p + 1) ** 2)
    return 0


def build_backbone(backbone: str, cfg: BenchConfig, frames: int) -> tuple[nn.Module, torch.Tensor]:
    """Random-init ``backbone`` for ``frames``-frame clips and a matching input clip (batch 1).

    Returns:
        ``(model in eval mode on cfg.device, clip)``; the clip is ``(1, T, 3, H, W)`` for the
        TimeSformers and ``(1, 3, T, H, W)`` for conv3d.
    """
    torch.manual_seed(cfg.seed)
    size = cfg.image_size
    model: nn.Module
    if backbone == "conv3d":
        model = Conv3dBaseline(hidden=cfg.hidden, patch_size=cfg.patch_size, blocks=max(1, cfg.layers // 2))
        clip = torch.randn(1, 3, frames, size, size)
    elif backbone in _ATTENTION_TYPES:
        from transformers import TimesformerConfig, TimesformerModel

        config = TimesformerConfig(
            image_size=size,
            patch_size=cfg.patch_size,
            num_frames=frames,
            hidden_size=cfg.hidden,
            num_hidden_layers=cfg.layers,
            num_attention_heads=cfg.heads,
            intermediate_size=MLP_RATIO * cfg.hidden,
            attention_type=_ATTENTION_TYPES[backbone],
        )
        model = TimesformerModel(config)
        clip = torch.randn(1, frames, 3, size, size)
    else:
        raise ValueError(f"unknown backbone {backbone!r}; choose from {', '.join(BACKBONES)}")
    return model.eval().to(cfg.device), clip.to(cfg.device)


def _forward(model: nn.Module, clip: torch.Tensor) -> None:
    if isinstance(model, Conv3dBaseline):
        model(clip)
    else:
        model(pixel_values=clip)


def count_flops(model: nn.Module, clip: torch.Tensor) -> tuple[int, int]:
    """FLOPs of one forward: ``(total, attention matmuls)`` from FlopCounterMode.

    Only TimeSformer's attention uses batched matmuls (its linears are ``addmm``), so the
    ``aten.bmm`` count is the attention share.
    """
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        _forward(model, clip)
    by_op = {str(op): n for op, n in counter.get_flop_counts().get("Global", {}).items()}
    return counter.get_total_flops(), by_op.get("aten.bmm", 0)


def peak_memory(model: nn.Module, clip: torch.Tensor, device: str) -> tuple[int, str]:
    """Peak memory of one forward above what was allocated before it: ``(bytes, method)``."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        with torch.inference_mode():
            _forward(model, clip)
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - before, "cuda.max_memory_allocated"
    meter = LiveTensorBytes()
    with torch.inference_mode(), meter:
        _forward(model, clip)
    return meter.peak, "live tensor storages"


def wall_time(model: nn.Module, clip: torch.Tensor, cfg: BenchConfig) -> float:
    """Median seconds of ``cfg.repeats`` forwards after ``cfg.warmup`` untimed ones."""
    sync: Callable[[], None] = (
        (lambda: torch.cuda.synchronize(cfg.device))
        if torch.device(cfg.device).type == "cuda"
        else (lambda: None)
    )
    times = []
    with torch.inference_mode():
        for i in range(cfg.warmup + cfg.repeats):
            sync()
            start = time.perf_counter()
            _forward(model, clip)
            sync()
            if i >= cfg.warmup:
                times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(backbone: str, cfg: BenchConfig, frames: int, *, timed: bool = True) -> Measurement:
    """Params, FLOPs, peak memory and (if ``timed``) wall time of ``backbone`` on one clip."""
    model, clip = build_backbone(backbone, cfg, frames)
    flops, attention = count_flops(model, clip)
    peak, method = peak_memory(model, clip, cfg.device)
    theory = attention_flops_theory(
        backbone, frames=frames, patches=cfg.patches, hidden=cfg.hidden, layers=cfg.layers
    )
    if attention != theory:
        logger.warning(
            "%s T=%d: counted attention FLOPs %d != closed form %d", backbone, frames, attention, theory
        )
    return Measurement(
        backbone=backbone,
        frames=frames,
        params=sum(p.numel() for p in model.parameters()),
        flops=flops,
        attention_flops=attention,
        attention_flops_theory=theory,
        peak_bytes=peak,
        peak_method=method,
        wall_s=wall_time(model, clip, cfg) if timed else float("nan"),
    )


def run_benchmark(
    cfg: BenchConfig, frames: Sequence[int], backbones: Sequence[str] = BACKBONES, *, timed: bool = True
) -> list[Measurement]:
    """Measure every backbone at every frame count; ratios are against ``divided`` at the same T.

    Returns:
        One :class:`Measurement` per (frames, backbone), frames-major.
    """
    rows: list[Measurement] = []
    for t in frames:
        group = [measure(b, cfg, t, timed=timed) for b in backbones]
        base = next((m for m in group if m.backbone == BASELINE), None)
        for m in group:
            if base is not None:
                m.ratios.update(
                    params=m.params / base.params,
                    flops=m.flops / base.flops,
                    peak=m.peak_bytes / base.peak_bytes if base.peak_bytes else float("nan"),
                    wall=m.wall_s / base.wall_s if timed else float("nan"),
                )
                if (
                    m.backbone == "conv3d"
                    and not 1 / PARAM_RATIO_LIMIT <= m.ratios["params"] <= PARAM_RATIO_LIMIT
                ):
                    logger.warning(
                        "conv3d has %.2fx divided's parameters (outside %.0fx)",
                        m.ratios["params"],
                        PARAM_RATIO_LIMIT,
                    )
            logger.info("%s T=%d: %.3f GFLOPs, %.1f ms", m.backbone, t, m.flops / 1e9, m.wall_s * 1e3)
        rows += group
    return rows


def format_table(rows: Sequence[Measurement]) -> str:
    """A fixed-width text table of ``rows``, ratios as ``x`` columns."""
    header = (
        f"{'backbone':8s} {'T':>3s} {'params M':>8s} {'GFLOPs':>8s} {'attn GF':>8s} {'peak MiB':>9s} "
        f"{'ms':>8s} {'params x':>8s} {'FLOPs x':>8s} {'attn x':>7s} {'peak x':>7s} {'time x':>7s}"
    )
    base = {m.frames: m for m in rows if m.backbone == BASELINE}
    lines = [header, "-" * len(header)]
    for m in rows:
        r, b = m.ratios, base.get(m.frames)
        has_attn = b is not None and b.attention_flops > 0 and m.attention_flops > 0
        attn_x = m.attention_flops / b.attention_flops if b is not None and has_attn else float("nan")
        lines.append(
            f"{m.backbone:8s} {m.frames:3d} {m.params / 1e6:8.2f} {m.flops / 1e9:8.2f} "
            f"{m.attention_flops / 1e9:8.3f} "
            f"{m.peak_bytes / MIB:9.1f} {m.wall_s * 1e3:8.1f} {r.get('params', float('nan')):8.2f} "
            f"{r.get('flops', float('nan')):8.2f} {attn_x:7.2f} {r.get('peak', float('nan')):7.2f} "
            f"{r.get('wall', float('nan')):7.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse flags, run the benchmark, print the table (and write ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 16, 32, 64], help="frame counts T")
    parser.add_argument(
        "--size", type=int, default=None, help="image side in pixels (default 112; 224 with --paper)"
    )
    parser.add_argument("--patch", type=int, default=None, help="patch side in pixels (default 16)")
    parser.add_argument("--hidden", type=int, default=None, help="width D (default 192; 768 with --paper)")
    parser.add_argument(
        "--layers", type=int, default=None, help="TimeSformer blocks (default 4; 12 with --paper)"
    )
    parser.add_argument(
        "--heads", type=int, default=None, help="attention heads (default 3; 12 with --paper)"
    )
    parser.add_argument(
        "--paper", action="store_true", help="TimeSformer-Base shapes: 224 px, D=768, 12 layers, 12 heads"
    )
    parser.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (cuda if available)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed forwards before timing")
    parser.add_argument("--repeats", type=int, default=5, help="timed forwards (median reported)")
    parser.add_argument("--backbones", nargs="+", choices=BACKBONES, default=list(BACKBONES))
    parser.add_argument(
        "--json", metavar="OUT", default=None, help="also write all figures to this JSON file"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log each measurement")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )

    paper = {"size": 224, "hidden": 768, "layers": 12, "heads": 12}
    small = {"size": 112, "hidden": 192, "layers": 4, "heads": 3}
    shape = {
        k: getattr(args, k) if getattr(args, k) is not None else (paper if args.paper else small)[k]
        for k in small
    }
    device = ("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else args.device
    try:
        cfg = BenchConfig(
            image_size=shape["size"],
            patch_size=args.patch or 16,
            hidden=shape["hidden"],
            layers=shape["layers"],
            heads=shape["heads"],
            device=device,
            warmup=args.warmup,
            repeats=args.repeats,
        )
    except ValueError as exc:
        parser.error(str(exc))
    counted = sdpa_is_counted()
    logger.info("FlopCounterMode counts scaled_dot_product_attention on CPU: %s", counted)
    rows = run_benchmark(cfg, args.frames, args.backbones)
    print(
        f"per clip, batch 1, {cfg.image_size}px patch {cfg.patch_size} D={cfg.hidden} L={cfg.layers} "
        f"heads={cfg.heads} on {device} ({torch.get_num_threads()} threads); "
        f"x = ratio to {BASELINE} at the same T; "
        f"peak = {rows[0].peak_method if rows else '-'}, above weights + input\n"
        f"FLOPs = FlopCounterMode, 2 per MAC; it {'counts' if counted else 'does NOT count'} CPU "
        "scaled_dot_product_attention, but TimeSformer's attention is explicit matmuls (aten.bmm), "
        "which it counts"
    )
    print(format_table(rows))
    if args.json:
        from chronolens.atomic import write_json_atomic

        payload = {
            "config": dataclasses.asdict(cfg),
            "sdpa_counted_on_cpu": counted,
            "torch": torch.__version__,
            "rows": [dataclasses.asdict(m) for m in rows],
        }
        write_json_atomic(args.json, payload, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

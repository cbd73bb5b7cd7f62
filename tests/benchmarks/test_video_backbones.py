"""benchmarks/video_backbones.py: the FLOP counter's numbers grow with frames as the theory says.

Tiny shapes (32 px, patch 8 -> P = 16 patches per frame, D = 32, 2 layers) at T = 2, 4, 8, random
init, untimed. Expected values are written out here from the attention arithmetic, not taken
from the script's own closed form.
"""

from __future__ import annotations

import pytest
import torch
from benchmarks.video_backbones import (
    BenchConfig,
    LiveTensorBytes,
    Measurement,
    build_backbone,
    run_benchmark,
)
from torch.utils.flop_counter import FlopCounterMode

CFG = BenchConfig(image_size=32, patch_size=8, hidden=32, layers=2, heads=2, warmup=0, repeats=1)
P, D, L = 16, 32, 2  # patches per frame, width, layers of CFG
FRAMES = (2, 4, 8)


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, int], Measurement]:
    return {(m.backbone, m.frames): m for m in run_benchmark(CFG, FRAMES, timed=False)}


def _quadratic_coefficient(values: dict[int, int]) -> float:
    """Second divided difference over T = 2, 4, 8: the T^2 coefficient of a quadratic through them."""
    (t0, t1, t2), (v0, v1, v2) = FRAMES, (values[t] for t in FRAMES)
    return ((v2 - v1) / (t2 - t1) - (v1 - v0) / (t1 - t0)) / (t2 - t0)


def test_counted_attention_flops_match_the_attention_arithmetic(
    rows: dict[tuple[str, int], Measurement],
) -> None:
    for t in FRAMES:
        # q k^T and p v: 2 matmuls of n x n x D multiply-adds, 2 FLOPs each, per layer.
        joint_tokens = t * P + 1  # all patches of all frames + CLS
        assert rows["joint", t].attention_flops == L * 2 * 2 * joint_tokens**2 * D
        temporal = P * 2 * 2 * t**2 * D  # P sequences of T tokens
        spatial = t * 2 * 2 * (P + 1) ** 2 * D  # T sequences of P patches + CLS
        assert rows["divided", t].attention_flops == L * (temporal + spatial)
        assert rows["conv3d", t].attention_flops == 0


def test_joint_attention_grows_quadratically_divided_with_a_p_times_smaller_square_term(
    rows: dict[tuple[str, int], Measurement],
) -> None:
    joint = {t: rows["joint", t].attention_flops for t in FRAMES}
    divided = {t: rows["divided", t].attention_flops for t in FRAMES}
    assert _quadratic_coefficient(joint) == pytest.approx(4 * L * D * P**2)
    assert _quadratic_coefficient(divided) == pytest.approx(4 * L * D * P)
    assert joint[8] / joint[4] > 3.8  # -> 4 as T grows
    assert divided[8] / divided[4] < 2.5  # linear spatial term dominates while T < P + 2
    # Doubling T costs joint attention ever more relative to divided.
    assert joint[2] / divided[2] < joint[4] / divided[4] < joint[8] / divided[8]


def test_divided_spatial_attention_is_exactly_linear_in_frames() -> None:
    spatial, temporal = {}, {}
    for t in FRAMES:
        model, clip = build_backbone("divided", CFG, t)
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            model(pixel_values=clip)
        by_module = counter.get_flop_counts()
        spatial[t] = sum(
            n
            for name, ops in by_module.items()
            if name.endswith(".attention.attention") and ".temporal_attention." not in name
            for op, n in ops.items()
            if str(op) == "aten.bmm"
        )
        temporal[t] = sum(
            n
            for name, ops in by_module.items()
            if name.endswith(".temporal_attention.attention")
            for n in ops.values()
        )
    assert spatial[2] > 0
    assert spatial[4] == 2 * spatial[2] and spatial[8] == 4 * spatial[2]
    # temporal_attention.attention holds the qkv linear (linear in T) plus the T x T matmuls.
    assert _quadratic_coefficient(temporal) == pytest.approx(4 * L * D * P)


def test_conv3d_flops_and_memory_are_exactly_linear_in_frames(
    rows: dict[tuple[str, int], Measurement],
) -> None:
    conv = {t: rows["conv3d", t] for t in FRAMES}
    assert conv[2].flops > 0
    assert conv[4].flops == 2 * conv[2].flops and conv[8].flops == 4 * conv[2].flops
    assert conv[4].peak_bytes == 2 * conv[2].peak_bytes and conv[8].peak_bytes == 4 * conv[2].peak_bytes


def test_totals_ratios_and_parameters(rows: dict[tuple[str, int], Measurement]) -> None:
    for t in FRAMES:
        divided, joint, conv = rows["divided", t], rows["joint", t], rows["conv3d", t]
        assert divided.flops > divided.attention_flops > 0
        assert divided.ratios["flops"] == 1.0
        assert joint.ratios["flops"] == pytest.approx(joint.flops / divided.flops)
        # Same width and input: the conv baseline's size is within 2x of both TimeSformers.
        assert 0.5 < conv.params / divided.params < 2 and 0.5 < conv.params / joint.params < 2
    # Joint's T*P x T*P attention maps make its peak memory outgrow divided's.
    assert rows["joint", 8].peak_bytes / rows["joint", 2].peak_bytes > (
        rows["divided", 8].peak_bytes / rows["divided", 2].peak_bytes
    )


def test_live_tensor_bytes_counts_new_storages_and_their_release() -> None:
    x = torch.ones(100, 100)  # created outside: not counted
    meter = LiveTensorBytes()
    with meter:
        y = x @ x  # 40,000 bytes
        view = y.view(-1)  # shares y's storage: nothing new
        del y
        z = view * 2  # 40,000 more
        del view  # frees y's storage
        w = z + 1  # 40,000 more, peak stays 80,000
    assert meter.peak == 80_000
    assert meter.live == 80_000  # z and w
    del z, w
    assert meter.live == 0

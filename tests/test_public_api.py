"""The public API offers what the CLI does, loads lazily and writes nothing it need not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.library.colorhist import segment_video

import chronolens


def test_every_public_name_resolves() -> None:
    for name in chronolens.__all__:
        assert getattr(chronolens, name) is not None, name
    for name in (
        "search",
        "ground",
        "highlights",
        "caption",
        "ask",
        "index",
        "load_encoder",
        "list_encoders",
    ):
        assert callable(getattr(chronolens, name)), name
    # the config types Library.open and the tasks take
    for name in ("Sampling", "FixedFps", "AnnConfig", "IngestConfig", "GroundingConfig", "HighlightConfig"):
        assert name in chronolens.__all__


def test_import_is_light() -> None:
    code = "import sys, chronolens; print(any(m in sys.modules for m in ('torch', 'numpy', 'av')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_ground_and_highlights_of_a_file_outside_any_library_write_nothing(tmp_path: Path) -> None:
    video = segment_video(tmp_path / "v" / "a.mkv", [("blue", 4), ("red", 4), ("blue", 4)])
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = chronolens.ground(video, "red", library=tmp_path / "no-library", model="testcolor:x", top_k=1)
    assert (
        result.best is not None and abs(result.best.start - 4.0) <= 1.0 and abs(result.best.end - 8.0) <= 1.0
    )
    hl = chronolens.highlights(video, "red", library=tmp_path / "no-library", model="testcolor:x")
    assert len(hl.saliency) == 6 and max(range(6), key=lambda i: hl.saliency[i]) in (2, 3)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before

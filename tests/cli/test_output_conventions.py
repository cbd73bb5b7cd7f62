"""One output convention across commands: usage errors, time format, bars, logs and warnings.

Each test here pins a behaviour a first-time user met the wrong way round (issue 17): an empty
query that returned everything, a misplaced option that printed the top-level usage, a typo'd
command with no suggestion, two time formats, log lines glued onto a bar, a bar that overshot
its total, third-party bars and warnings in the CLI's output.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import re
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.library.colorhist import segment_video

from chronolens.cli.main import THIRD_PARTY_ENV, _configure_logging, build_parser, main
from chronolens.progress import progress_bar

MODEL = "testcolor:cli"  # the colour-histogram test encoder, registered by tests.library.colorhist
CLOCK = r"\d+:\d\d:\d\d\.\d"  # h:mm:ss.s, the one time format of human output
ROW = re.compile(rf"^\s+\d+  {CLOCK} - {CLOCK}  \(-?\d+\.\d{{3}}\)$")  # "  1  0:00:03.0 - 0:00:06.0  (0.912)"


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal, so bars are drawn into it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Callable[[], _Terminal]:
    """Call it in the test body (pytest re-installs its own stderr between setup and call)."""
    for name in THIRD_PARTY_ENV:  # _configure_logging sets them; monkeypatch puts them back
        monkeypatch.delenv(name, raising=False)

    def install() -> _Terminal:
        stream = _Terminal()
        monkeypatch.setattr(sys, "stderr", stream)
        return stream

    return install


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return segment_video(tmp_path / "a.mkv", [("blue", 3), ("red", 3), ("blue", 4)])  # 10 s


@pytest.fixture
def library(tmp_path: Path, video: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "lib"
    assert main(["-q", "index", str(video), "--library", str(root), "--model", MODEL, "--json"]) == 0
    capsys.readouterr()
    return root


# --- usage errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "   ", "\t\n"])
def test_empty_search_query_is_a_one_line_usage_error(
    library: Path, query: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", query, "--library", str(library)]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert captured.out == "" and len(err) == 1
    assert err[0].startswith("chronolens search: error:") and "empty" in err[0]


@pytest.mark.parametrize("command", ["ground", "highlights"])
def test_empty_query_in_ground_and_highlights_is_a_usage_error(
    video: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, str(video), " ", "--model", MODEL]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"chronolens {command}: error:") and "empty" in err[0]


@pytest.mark.parametrize(
    ("argv", "usage"),
    [
        (["search", "q", "--bogus"], "usage: chronolens search "),
        (["search", "--top-k", "x", "q"], "usage: chronolens search "),
        (["info", "--bogus"], "usage: chronolens info "),
        (["bench", "synth", "--bogus"], "usage: chronolens bench synth "),
    ],
)
def test_misplaced_option_shows_the_subcommands_usage(
    argv: list[str], usage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(usage), err
    assert "usage: chronolens [-h]" not in err


def test_global_options_are_accepted_after_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # -q / -v are where users put them; a missing library is then the (exit 1) error, not usage.
    assert main(["search", "q", "--library", str(tmp_path / "none"), "-q", "-v"]) == 1
    assert "no chronolens library" in capsys.readouterr().err


def test_unknown_command_suggests_the_closest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serach", "q"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'serach'" in err and "did you mean 'search'?" in err
    assert main(["-q", "zzzzzz"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'zzzzzz'" in err and "did you mean" not in err


# --- one time format -----------------------------------------------------------------------------


def test_ground_prints_a_header_and_hms_times(video: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ground", str(video), "a red scene", "--model", MODEL, "--top-k", "2"]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header == f"video: {video}  duration: 0:00:10.0  query: a red scene"
    assert rows and all(ROW.match(row) for row in rows), rows
    assert re.match(r"^\s+1  0:00:0[23]\.\d - 0:00:0[5-7]\.\d  ", rows[0])  # red is 3-6 s


def test_highlights_prints_the_same_header_and_times(video: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["highlights", str(video), "red", "--model", MODEL]) == 0
    header, *rows = capsys.readouterr().out.splitlines()
    assert header == f"video: {video}  duration: 0:00:10.0  query: red"
    assert rows and all(ROW.match(row) for row in rows), rows
    assert main(["highlights", str(video), "--model", MODEL]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("query: (none: what stands out)")


def test_search_prints_hms_times(library: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "red", "--library", str(library)]) == 0
    _, hit, *moments = capsys.readouterr().out.splitlines()
    assert re.search(rf"  0:00:10\.0  {re.escape(str(library.parent / 'a.mkv'))}$", hit), hit
    assert moments and all(re.match(rf"^\s+{CLOCK} - {CLOCK}  \(-?\d\.\d{{3}}\)$", m) for m in moments)


def test_json_keeps_seconds_as_numbers(video: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ground", str(video), "red", "--model", MODEL, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    start, end, score = payload["windows"][0]
    assert all(isinstance(x, float) for x in (start, end, score)) and 2.0 <= start < end <= 7.0


# --- --json everywhere -----------------------------------------------------------------------------


def _leaf_parsers(
    parser: argparse.ArgumentParser, name: str
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield name, parser
    for action in subs:
        for child_name, child in action.choices.items():
            yield from _leaf_parsers(child, f"{name} {child_name}")


def test_every_command_has_json() -> None:
    parser, _ = build_parser()
    leaves = dict(_leaf_parsers(parser, "chronolens"))
    assert "chronolens search" in leaves and "chronolens bench synth" in leaves
    missing = [
        name for name, p in leaves.items() if not any("--json" in a.option_strings for a in p._actions)
    ]
    assert missing == []


# --- bars, logs and third-party output -------------------------------------------------------------


def _last_segment(text: str, needle: str) -> str:
    """The visible text of the terminal line holding ``needle`` (what follows its last ``\\r``)."""
    (line,) = [line for line in text.split("\n") if needle in line]
    return line.split("\r")[-1]


def test_log_lines_never_break_a_bar(terminal: Callable[[], _Terminal]) -> None:
    stderr = terminal()
    _configure_logging(0, False)
    with progress_bar(total=10, desc="indexing", unit="s") as bar:
        bar.update(4)
        logging.getLogger("chronolens.ingest").warning("cannot decode x.mp4: no video stream")
        bar.update(6)
    assert _last_segment(stderr.getvalue(), "cannot decode").startswith("WARNING chronolens.ingest: ")


def test_bar_updates_stop_at_the_total(terminal: Callable[[], _Terminal]) -> None:
    stderr = terminal()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # TqdmWarning: clamping frac to range [0, 1]
        with progress_bar(total=10.0, desc="indexing", unit="s") as bar:
            bar.update(7.5)
            bar.update(7.5)
            assert bar.n == pytest.approx(10.0)
    assert "-" not in stderr.getvalue().split("<")[-1]  # no negative time left


def test_ingest_bar_ends_with_every_video_counted(tmp_path: Path, terminal: Callable[[], _Terminal]) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    segment_video(videos / "a.mkv", [("blue", 3), ("red", 2)])
    segment_video(videos / "b.mkv", [("red", 4)])
    stderr = terminal()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a TqdmWarning (frac clamped) would fail here
        assert main(["index", str(videos), "--library", str(tmp_path / "lib"), "--model", MODEL]) == 0
    final = [seg for seg in stderr.getvalue().split("\r") if seg.startswith("indexing")][-1]
    assert "100%" in final and "videos=2/2" in final, final


def test_third_party_warnings_only_with_verbose(terminal: Callable[[], _Terminal]) -> None:
    stderr = terminal()
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        _configure_logging(0, False)
        warnings.warn("`old_alias` is deprecated", FutureWarning, stacklevel=1)
        assert stderr.getvalue() == ""
        _configure_logging(1, False)
        warnings.warn("`old_alias` is deprecated", FutureWarning, stacklevel=1)
    assert "FutureWarning: `old_alias` is deprecated" in stderr.getvalue()


def test_transformers_bars_are_off_unless_verbose() -> None:
    # In a fresh process, as the CLI runs: logging is configured before transformers is imported.
    code = (
        "import sys\n"
        "from chronolens.cli.main import _configure_logging\n"
        "_configure_logging(int(sys.argv[1]), False)\n"
        "import transformers\n"
        "print(transformers.utils.logging.is_progress_bar_enabled())\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in THIRD_PARTY_ENV}
    for verbose, enabled in ((0, "False"), (1, "True")):
        run = subprocess.run(
            [sys.executable, "-c", code, str(verbose)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
            env=env,
        )
        assert run.stdout.strip() == enabled

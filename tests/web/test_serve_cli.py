"""``chronolens serve`` and ``chronolens demo --serve``: URL, host warning, Ctrl-C exits 130."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

import chronolens.web.server
from chronolens.cli.main import main
from chronolens.web import is_loopback


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("localhost", True), ("::1", True), ("0.0.0.0", False), ("10.0.0.5", False)],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serve_prints_the_url_and_ctrl_c_exits_130(library: Path) -> None:
    command = [sys.executable, "-m", "chronolens", "serve", "--library", str(library), "--port", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            line = proc.stdout.readline() if proc.stdout else ""
            assert line.startswith("chronolens serve: http://127.0.0.1:"), line
            url = line.split()[2]
            with urllib.request.urlopen(f"{url}api/info", timeout=30) as response:
                assert json.load(response)["n_indexed"] == 2
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 130
        finally:
            if proc.poll() is None:
                proc.kill()
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")


def test_another_host_warns(
    library: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    served = []

    def fake_serve(app: object, sock: object, *, on_ready: object) -> None:
        served.append(sock)
        on_ready()  # type: ignore[operator]

    monkeypatch.setattr(chronolens.web.server, "serve", fake_serve)
    assert main(["serve", "--library", str(library), "--host", "0.0.0.0", "--port", "0"]) == 0
    captured = capsys.readouterr()
    assert "warning: listening on 0.0.0.0" in captured.err
    assert captured.out.startswith("chronolens serve: http://0.0.0.0:") and len(served) == 1
    served[0].close()
    assert main(["serve", "--library", str(library), "--port", "0", "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["url"].startswith("http://127.0.0.1:") and line["library"] == str(library)
    served[1].close()


def test_serve_without_a_library_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--library", str(tmp_path / "none"), "--port", "0"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no chronolens library" in err[0]


def test_demo_serve_serves_the_demo_library(
    library: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import chronolens.cli.serve
    import chronolens.demo.run

    result = SimpleNamespace(
        report=library / "report.html", library=library, scores=None, seconds=1.0, rows=[]
    )
    monkeypatch.setattr(chronolens.demo.run, "run_demo", lambda *a, **k: result)
    calls = []
    monkeypatch.setattr(chronolens.cli.serve, "serve_library", lambda lib, **kw: calls.append((lib, kw)) or 0)
    assert main(["-q", "demo", "--json", "--serve", "--port", "0"]) == 0
    assert json.loads(capsys.readouterr().out)["library"] == str(library)  # stdout: only the JSON
    ((served, options),) = calls
    assert served == library and options["port"] == 0 and options["host"] == "127.0.0.1"
    assert main(["-q", "demo", "--json"]) == 0 and len(calls) == 1  # without --serve: nothing served
    assert main(["demo", "--timechat", "--serve"]) == 2

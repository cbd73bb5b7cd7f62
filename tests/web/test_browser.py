"""A real browser (Debian's chromium + chromium-driver via selenium) against the served page.

Type a query, click the first moment chip: the <video> seeks to the moment's start and pauses by
its end. A screenshot of the page is saved (``$CHRONOLENS_SCREENSHOT``, e.g. docs/img/serve.png;
default: the test's tmp dir). Run with ``make test-browser``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import build_library

from chronolens.web import ServeConfig, create_app
from chronolens.web.server import bind, url_of

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HINT = "run `make test-browser` (installs selenium, chromium and chromium-driver)"


@pytest.fixture
def page_url(tmp_path: Path) -> Iterator[str]:
    """The app over a tiny library on a free loopback port, served from a thread."""
    import uvicorn

    library = build_library(tmp_path, size=(240, 320))
    app = create_app(ServeConfig(library=library, cache_dir=tmp_path / "previews"))
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the server did not start"
    try:
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def driver() -> Iterator[object]:
    webdriver = pytest.importorskip("selenium.webdriver", reason=f"selenium is not installed: {HINT}")
    if not (Path(CHROMIUM).exists() and (Path(CHROMEDRIVER).exists() or shutil.which("chromedriver"))):
        pytest.skip(f"chromium / chromedriver not found: {HINT}")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1500", "--autoplay-policy=no-user-gesture-required"):  # fmt: skip
        options.add_argument(flag)
    browser = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield browser
    finally:
        browser.quit()


def _wait(predicate: object, timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()  # type: ignore[operator]
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the page")


def test_click_a_moment_plays_exactly_that_span(page_url: str, driver: object, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    d = driver  # a selenium Chrome
    d.get(page_url)  # type: ignore[attr-defined]
    _wait(lambda: d.find_elements(By.CSS_SELECTOR, "#videos tbody tr"))  # type: ignore[attr-defined]
    box = d.find_element(By.ID, "query")  # type: ignore[attr-defined]
    box.send_keys("red")
    d.find_element(By.ID, "search-button").click()  # type: ignore[attr-defined]
    chip = _wait(lambda: d.find_elements(By.CSS_SELECTOR, ".card .chip"))[0]  # type: ignore[attr-defined,index]
    start, end = float(chip.get_attribute("data-start")), float(chip.get_attribute("data-end"))
    assert chip.text == f"{start:.1f}–{end:.1f} s"
    chip.click()
    video = d.find_element(By.ID, "player")  # type: ignore[attr-defined]
    seek = _wait(lambda: video.get_attribute("data-last-seek"))
    assert abs(float(seek) - start) <= 0.5, (seek, start)  # type: ignore[arg-type]
    _wait(lambda: d.execute_script("return document.querySelector('#chart polyline') !== null"))  # type: ignore[attr-defined]
    _wait(lambda: d.execute_script("const v = arguments[0]; return !v.paused || v.ended;", video), 10)  # type: ignore[attr-defined]
    _wait(lambda: d.execute_script("return arguments[0].paused;", video), end - start + 10)  # type: ignore[attr-defined]
    stopped = float(d.execute_script("return arguments[0].currentTime;", video))  # type: ignore[attr-defined]
    assert end - 0.5 <= stopped <= end + 0.5, (stopped, end)
    shot = Path(os.environ.get("CHRONOLENS_SCREENSHOT") or tmp_path / "serve.png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    assert d.save_screenshot(str(shot))  # type: ignore[attr-defined]
    assert shot.stat().st_size > 10_000

"""Fixtures of the browser tests: a live demo node (a real `derivecert serve` process on a
127.0.0.1 free port, seeded with examples/) and headless Chromium driven through Selenium and
Debian's chromedriver.  Nothing is downloaded at run time; Chromium runs with its background
networking off, so a page that needed the internet would stay blank (the /docs test)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from api.servers import free_port  # tests/api/servers.py

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
#: screenshots of every page the tests visit (git-ignored); `make screenshots` points this at docs/screenshots
SHOTS = Path(os.environ.get("DERIVECERT_SCREENSHOTS") or Path(__file__).parent / "artifacts")


def _browser_missing() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        return (f"{' and '.join(missing)} missing: `make test` installs Debian's chromium and chromium-driver "
                "with apt-get; install them to run the browser tests")
    return None


@pytest.fixture(scope="session")
def live_node(tmp_path_factory):
    """`derivecert serve --seed examples` on 127.0.0.1: the demo catalog, 30 datasets filed."""
    port = free_port()
    store = tmp_path_factory.mktemp("web-node") / "store"
    log = open(store.parent / "node.log", "w")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, "-m", "derivecert.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
                             "--store", str(store), "--seed", "examples"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the node exited: {(store.parent / 'node.log').read_text()[-2000:]}")
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the node did not start in 180 s")
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    reason = _browser_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs it: a missing browser there is a broken setup, not a skip
        pytest.skip(reason)
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager never looks for a driver online
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


@pytest.fixture
def page(browser, live_node):
    """The browser on the live node, starting in Chinese (a remembered choice); `page.shot(name)`
    saves a full-page screenshot."""
    browser.get(live_node + "/healthz")
    browser.delete_all_cookies()
    browser.add_cookie({"name": "derivecert-lang", "value": "zh", "path": "/"})

    class Page:
        base = live_node
        driver = browser

        def open(self, path: str):
            browser.get(live_node + path)
            return self

        def shot(self, name: str) -> Path:
            SHOTS.mkdir(parents=True, exist_ok=True)
            height = browser.execute_script("return Math.min(document.body.scrollHeight, 4000)")
            browser.set_window_size(1280, max(900, height))
            path = SHOTS / f"{name}.png"
            browser.save_screenshot(str(path))
            browser.set_window_size(1280, 900)
            return path

    return Page()

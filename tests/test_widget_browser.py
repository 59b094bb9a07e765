"""The review widget in a real browser: JupyterLab on localhost, Chromium driven by Playwright.

A click on Accept in headless Chromium must land as a decision in the project file. Slow (about half a
minute): it starts a Jupyter server, a kernel and a browser. It needs the Debian ``chromium`` package
(``.ci/run`` installs it) and the test extra (jupyterlab, ipykernel, ipywidgets, playwright).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

import qualcode as qc
from qualcode.project import Project
from qualcode.review.widget import ReviewQueue

CHROMIUM = "/usr/bin/chromium"
TOKEN = "qualcode-widget-test"
# Without the background-networking flags Chromium keeps calling home, and in a closed network those
# refused connections slow it down or stall the page.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-proxy-server"]
SAMPLE = "int_d02_final.txt"


def _needs() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)"
    for module in ("jupyterlab", "ipykernel", "ipywidgets", "playwright.sync_api"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[test]')"
    return None


MISSING = _needs()
# CI sets QUALCODE_REQUIRE_BROWSER=1: there a missing browser is a failure, not a quiet skip.
REQUIRED = os.environ.get("QUALCODE_REQUIRE_BROWSER") == "1"
if MISSING is not None and REQUIRED:
    raise RuntimeError(f"the widget's browser test cannot run: {MISSING}")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(MISSING is not None, reason=str(MISSING))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _notebook(project_path: Path) -> dict:
    source = ["import qualcode as qc\n", f"qc.review_widget({str(project_path)!r}, coder='ana', lang='en')"]
    # A chart as the last expression of a cell, with no %matplotlib magic, must be drawn (team-study 11).
    chart = ["import pandas as pd\n",
             "q = pd.DataFrame({'segment_id': ['s1', 's2'], 'doc_id': ['d1', 'd2'], 'code_id': ['a.b', 'a.c']})\n",
             "qc.plot_frequencies(qc.code_frequencies(q))"]
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": "review", "metadata": {}, "outputs": [],
                       "source": source},
                      {"cell_type": "code", "execution_count": None, "id": "chart", "metadata": {}, "outputs": [],
                       "source": chart}],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture
def study(tmp_path, samples):
    """A project with one sample interview and its keyword suggestions, and a notebook that shows the widget."""
    path = tmp_path / "study.qualcode"
    corpus, _ = qc.load_corpus(samples / "transcripts" / SAMPLE, attributes=samples / "attributes.csv")
    with Project.create(path) as project:
        project.add_corpus(corpus)
        project.add_codebook(qc.load_codebook("nic_study"))
        qc.suggest(project, methods=("keyword",))
        queue = ReviewQueue(project, "ana")
        expected = [queue.item(0), queue.item(1)]
    (tmp_path / "review.ipynb").write_text(json.dumps(_notebook(path), indent=1), encoding="utf-8")
    return path, expected


@pytest.fixture
def jupyter_lab(tmp_path):
    """JupyterLab serving tmp_path on a free localhost port, with its own config, data and runtime folders."""
    home = tmp_path / "jupyter"
    env = dict(os.environ)
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                 "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(home / name.lower())
    # The kernel must be this interpreter: the environment's own kernelspec first ("python" in its argv is
    # replaced by the server's sys.executable), never one from the user's folders.
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    # No "get notified about Jupyter news?" prompt (nor fetching of it), and no "Select Kernel" dialog:
    # the notebook's own kernel starts by itself.
    settings = home / "jupyterlab_settings_dir" / "@jupyterlab"
    for plugin, value in [("apputils-extension/notification", {"fetchNews": "false"}),
                          ("notebook-extension/tracker", {"autoStartDefaultKernel": True})]:
        target = settings / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(value), encoding="utf-8")
    port = _free_port()
    log = (tmp_path / "jupyter.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
         "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={tmp_path}",
         "--ServerApp.allow_root=True", "--LabApp.news_url=",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with opener.open(f"{url}/api/status?token={TOKEN}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'jupyter.log').read_text()[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _decisions(path: Path):
    with Project.open(path) as project:
        return qc.decisions(project, history=True)


def _wait_for_decisions(path: Path, n: int, seconds: float = 20):
    """The decision log once it has ``n`` rows (or whatever it has after ``seconds``), read afresh from the file."""
    deadline = time.monotonic() + seconds
    while len(log := _decisions(path)) < n and time.monotonic() < deadline:
        time.sleep(0.25)
    return log


def test_a_click_on_accept_in_chromium_lands_in_the_project_file(study, jupyter_lab, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    path, expected = study
    assert _decisions(path).empty
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            # Should the kernel dialog still show up (another JupyterLab version), choose the notebook's kernel.
            dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
            page.add_locator_handler(dialog, lambda d: d.get_by_role("button", name="Select", exact=True).click())
            page.goto(f"{jupyter_lab}/lab/tree/review.ipynb?token={TOKEN}", timeout=60_000)
            # Run the cell once the kernel is idle: a run asked for while the notebook is still being set
            # up can be dropped, so the cell is run again if it shows no sign of having started.
            page.get_by_text(re.compile(r"\|\s*Idle")).first.wait_for(timeout=60_000)
            accept = page.locator(".qualcode-accept").first
            for attempt in range(3):
                page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first.click()
                page.keyboard.press("Shift+Enter")
                try:
                    page.locator(".jp-Notebook .jp-Cell .jp-InputPrompt", has_text=re.compile(r"\[[*0-9]+\]")).first\
                        .wait_for(timeout=10_000)
                    break
                except PlaywrightTimeout:
                    if attempt == 2:
                        raise
            accept.wait_for(state="visible", timeout=60_000)
            page.locator(".qualcode-review mark").first.wait_for(timeout=10_000)
            accept.click()
            clicked = _wait_for_decisions(path, 1)
            page.get_by_text("Saved:").wait_for(timeout=10_000)
            # The shortcut box: typing "r" in it rejects the next suggestion (JupyterLab's own
            # single-key shortcuts must not take the key).
            page.locator(".qualcode-shortcuts input").click()
            page.keyboard.type("r")
            typed = _wait_for_decisions(path, 2)
            # The chart cell draws an image in the browser.
            page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").nth(1).click()
            page.keyboard.press("Shift+Enter")
            page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output img").wait_for(timeout=60_000)
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"), full_page=True)
            raise
        finally:
            browser.close()
    first, second = expected
    assert len(clicked) == 1, f"server log in {tmp_path}"
    row = clicked.iloc[0]
    assert (row["segment_id"], row["code_id"], row["decision"], row["coder"], row["source"]) == (
        first.segment_id, first.code_id, "accept", "ana", "widget")
    assert len(typed) == 2, f"server log in {tmp_path}"
    row = typed.iloc[1]
    assert (row["segment_id"], row["code_id"], row["decision"], row["source"]) == (
        second.segment_id, second.code_id, "reject", "widget")

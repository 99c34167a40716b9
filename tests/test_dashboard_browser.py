"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright), served by
uvicorn: every page loads, the live chart follows an `infer` run started and stopped from the page,
the approach changes and a version is promoted, the charts follow the window's width, two
dashboards live side by side in one browser, and Run control works from a relative workspace
path. A screenshot of each page goes to a temporary folder (``HARMONE_SCREENSHOTS`` names another)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import served_workspace

from harmone import lifecycle
from harmone.dashboard import Dashboard
from harmone.knowledge import KnowledgeStore
from harmone.mape.state import read_approach
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

CHROMIUM = "/usr/bin/chromium"
#: What Chromium needs on a machine with no network and no display, run as root.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PAGES = ("live", "decisions", "models", "approach", "experiments", "runs")

pytestmark = [
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK), reason="Debian's chromium is not installed (make test installs it)"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp("chromium")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS,
                                              env={**os.environ, "HOME": str(root)})
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def browser_page(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, Any, Path]]:
    root = tmp_path_factory.mktemp("browser")
    workspace = served_workspace(root / "ws")
    shots = Path(os.environ.get("HARMONE_SCREENSHOTS") or root / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    dashboard = Dashboard.listening(workspace, port=0).start()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(dashboard.url)
    yield dashboard, page, shots
    context.close()
    dashboard.close()
    assert errors == []


def _open(page: Any, dashboard: Dashboard, name: str) -> None:
    page.goto(f"http://127.0.0.1:{dashboard.port}/#{name}")
    page.wait_for_selector(f'#page[data-page="{name}"][data-ready="1"]', timeout=15_000)


def test_every_page_loads_and_is_photographed(browser_page: tuple[Dashboard, Any, Path]) -> None:
    dashboard, page, shots = browser_page
    expected = {"live": "live, whole history", "decisions": "window-kl score", "models": "Roll back",
                "approach": "The drift loop retrained", "experiments": "of it retraining", "runs": "from the start"}
    for name in PAGES:
        _open(page, dashboard, name)
        page.wait_for_function("t => document.body.innerText.includes(t)", arg=expected[name], timeout=10_000)
        page.screenshot(path=str(shots / f"dashboard-{name}.png"), full_page=True)
        assert (shots / f"dashboard-{name}.png").stat().st_size > 10_000
    _open(page, dashboard, "experiments")
    link = page.get_attribute("a.plot-link", "href") or ""
    assert link.startswith("/api/experiments/file?") and page.get_attribute("a.plot-link", "target") == "_blank"
    assert "modelled" in page.inner_text("table.results")
    _open(page, dashboard, "decisions")
    page.select_option("#filter-decision", "no-drift")
    page.wait_for_function("() => document.querySelectorAll('tr[data-event]').length === 1", timeout=5000)


def test_the_charts_follow_the_window_width(browser_page: tuple[Dashboard, Any, Path]) -> None:
    """Loaded at 1 400 px and shrunk to 800 px, the page once scrolled sideways at 1 349 px."""
    dashboard, page, _ = browser_page
    _open(page, dashboard, "live")
    page.wait_for_function("() => document.querySelector('#history-chart canvas')")
    wide = page.evaluate("() => document.querySelector('#history-chart canvas').getBoundingClientRect().width")
    page.set_viewport_size({"width": 800, "height": 1000})
    try:
        page.wait_for_function("() => document.querySelector('#history-chart canvas').getBoundingClientRect().width"
                               " <= window.innerWidth", timeout=5000)
        narrow = page.evaluate("() => document.querySelector('#history-chart canvas').getBoundingClientRect().width")
        assert narrow < wide and page.evaluate("() => document.documentElement.scrollWidth") <= 800
        for name in ("decisions", "models", "experiments", "approach"):
            _open(page, dashboard, name)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 800, name
    finally:
        page.set_viewport_size({"width": 1400, "height": 1000})


def test_the_history_chart_zooms_and_pans(browser_page: tuple[Dashboard, Any, Path]) -> None:
    dashboard, page, _ = browser_page
    _open(page, dashboard, "live")
    page.wait_for_selector("#page .page[data-history-last]")
    page.click("#history-zoom-in")
    page.wait_for_function("() => Number(document.querySelector('#page .page').dataset.historyFirst) > 1")
    first = int(page.get_attribute("#page .page", "data-history-first") or 0)
    page.click("#history-earlier")
    page.wait_for_function(f"() => Number(document.querySelector('#page .page').dataset.historyFirst) < {first}")
    page.click("#history-all")
    page.wait_for_function("() => document.querySelector('#page .page').dataset.historyFirst === '1'")


def test_the_live_chart_follows_an_infer_run_started_and_stopped_from_the_page(
        browser_page: tuple[Dashboard, Any, Path]) -> None:
    dashboard, page, shots = browser_page
    _open(page, dashboard, "runs")
    page.fill("#infer-interval", "0.01")
    page.click("#start-infer")
    page.wait_for_selector('[data-run="infer"][data-running="true"]', timeout=20_000)
    _open(page, dashboard, "live")
    seen = int(page.get_attribute("#page .page", "data-last-row") or 0)
    page.wait_for_function(f"() => Number(document.querySelector('#page .page').dataset.lastRow) > {seen}",
                           timeout=30_000)
    grown = int(page.get_attribute("#page .page", "data-last-row") or 0)
    page.wait_for_function(f"() => Number(document.querySelector('#page .page').dataset.lastRow) > {grown}",
                           timeout=10_000)
    page.screenshot(path=str(shots / "dashboard-live-running.png"), full_page=True)
    _open(page, dashboard, "runs")
    page.click("#stop-infer")
    page.wait_for_selector('[data-run="infer"][data-running="false"]', timeout=20_000)
    with KnowledgeStore.open_readonly(dashboard.workspace.db_path) as store:
        operators = [e.observed["operator"] for e in store.events() if e.decision.value == "operator"]
        assert store.last_row_id() > grown
    assert operators[-2:] == ["start-infer", "stop-infer"]


def test_the_approach_changes_and_a_version_is_promoted_from_the_page(
        browser_page: tuple[Dashboard, Any, Path]) -> None:
    dashboard, page, _ = browser_page
    _open(page, dashboard, "approach")
    page.select_option("#approach-select", "switch+retrain")
    page.click("#approach-change")
    page.wait_for_function("() => document.querySelector('#approach-current').textContent === 'switch+retrain'")
    with KnowledgeStore.open_readonly(dashboard.workspace.db_path) as store:
        assert read_approach(store).name == "switch+retrain"
    _open(page, dashboard, "models")
    page.click('[data-promote="linear:1"]')
    page.wait_for_selector('[data-promote="linear:2"]', timeout=5000)
    assert ModelRepository(dashboard.workspace).active_version("linear") == 1


def test_two_dashboards_side_by_side_in_one_browser(browser: Any, tmp_path: Path) -> None:
    """Opening a second dashboard's link once signed the first one out for good (one cookie name for both)."""
    from conftest import make_workspace

    dashboards = [Dashboard.listening(make_workspace(tmp_path / name, n=600), port=0).start() for name in "ab"]
    context = browser.new_context()
    try:
        pages = []
        for dashboard in dashboards:
            page = context.new_page()
            page.goto(dashboard.url)
            page.wait_for_selector('#page[data-ready="1"]', timeout=15_000)
            pages.append(page)
        for page, dashboard in zip(pages, dashboards):
            page.reload()
            page.wait_for_selector('#page[data-ready="1"]', timeout=15_000)
            assert page.inner_text("#workspace") == str(dashboard.workspace.root.resolve())
        assert sorted(c["name"] for c in context.cookies()) == sorted(f"harmone_session_{d.port}" for d in dashboards)
        pages[0].goto(dashboards[0].url)  # the printed link again: back to the page, not an error
        pages[0].wait_for_selector('#page[data-ready="1"]', timeout=15_000)
    finally:
        context.close()
        for dashboard in dashboards:
            dashboard.close()


def test_run_control_works_from_a_relative_workspace_path(browser: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from conftest import make_workspace

    workspace = make_workspace(tmp_path / "ws", n=1200)
    lifecycle.train_initial(workspace, ["linear"])
    workspace.write_active_model("linear")
    monkeypatch.chdir(tmp_path)
    dashboard = Dashboard.listening(Workspace.open(Path("ws")), port=0).start()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(dashboard.url)
        _open(page, dashboard, "runs")
        page.fill("#infer-interval", "0")
        page.click("#start-infer")  # to the end of the stream
        page.wait_for_selector('[data-run="infer"][data-exit="0"]', timeout=30_000)
        with KnowledgeStore.open_readonly(workspace.db_path) as store:
            stream_length = store.last_row_id()
        page.click("#start-infer")  # the stream is at its end now: the page says why, it does not say "started"
        page.wait_for_function("() => document.querySelector('#toast').textContent.includes('end of the test stream')")
        page.check("#infer-from-start")
        page.fill("#infer-steps", "5")
        page.click("#start-infer")
        page.wait_for_function("() => document.querySelector('#toast').textContent.includes('infer started')")
        page.wait_for_selector('[data-run="infer"][data-exit="0"]', timeout=30_000)
    finally:
        context.close()
        dashboard.close()
    with KnowledgeStore.open_readonly(workspace.db_path) as store:
        assert stream_length > 0 and store.last_row_id() == stream_length + 5


def test_screenshots_can_be_kept(browser_page: tuple[Dashboard, Any, Path]) -> None:
    """With HARMONE_SCREENSHOTS=docs/img the README's pictures are refreshed from this run."""
    _, _, shots = browser_page
    assert sorted(p.name for p in shots.glob("dashboard-*.png")) == sorted(
        [f"dashboard-{name}.png" for name in PAGES] + ["dashboard-live-running.png"])


def test_a_classification_stream_reads_accuracy_and_kappa_temporal_on_every_page(browser: Any, tmp_path: Path) -> None:
    """The pages take the task's words from the session: no R² on a digits stream, and the first
    live chart draws each serving model's rolling accuracy instead of class indices."""
    from classification_helpers import digits_workspace

    from harmone.report.tables import results_rows
    from harmone.runner import run_approach
    from harmone.testing import FakeMeter

    workspace = digits_workspace(tmp_path / "ws")
    result = run_approach(workspace, "harmone", seed=1, simulate=True, meter=FakeMeter())
    (workspace.root / "experiment").mkdir()  # as `harmone experiment` writes them
    (workspace.root / "experiment" / "results.json").write_text(json.dumps(results_rows([result], seed=1, meter={})))
    (workspace.root / "experiment" / "run.json").write_text(json.dumps({"seed": 1, "task": "classification"}))
    dashboard = Dashboard.listening(workspace, port=0).start()
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(dashboard.url)
        expected = {"live": "kappa-temporal over no-change", "approach": "recent accuracy",
                    "decisions": "new version's held-out accuracy", "experiments": "error rate"}
        for name, words in expected.items():
            _open(page, dashboard, name)
            page.wait_for_function("t => document.body.innerText.includes(t)", arg=words, timeout=10_000)
            text = page.inner_text("#page")
            assert "R²" not in text and "MSE" not in text and "persistence" not in text, name
        _open(page, dashboard, "live")
        page.wait_for_function("() => document.body.innerText.includes('Rolling accuracy by serving model')")
        assert page.is_hidden("#history-chart") and "rolling accuracy" in page.inner_text(".figures")
        _open(page, dashboard, "experiments")
        assert page.inner_text("table.results tr").split("\t")[2:5] == ["accuracy", "kappa-temporal", "error rate"]
    finally:
        context.close()
        dashboard.close()
    assert errors == []

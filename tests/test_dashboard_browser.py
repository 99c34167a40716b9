"""The dashboard in a real headless Chromium (Debian's package, driven by Playwright): every page
loads, the live chart follows an `infer` run started and stopped from the page, the approach
changes and a version is promoted. A screenshot of each page goes to a temporary folder
(``HARMONE_SCREENSHOTS`` names another)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import served_workspace

from harmone.dashboard import Dashboard
from harmone.knowledge import KnowledgeStore
from harmone.mape.state import read_approach
from harmone.repository import ModelRepository

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
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, Any, Path]]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
    root = tmp_path_factory.mktemp("browser")
    workspace = served_workspace(root / "ws")
    shots = Path(os.environ.get("HARMONE_SCREENSHOTS") or root / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    dashboard = Dashboard(workspace).start()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS,
                                             env={**os.environ, "HOME": str(root)})
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(dashboard.url)
        yield dashboard, page, shots
        browser.close()
    dashboard.close()
    assert errors == []


def _open(page: Any, dashboard: Dashboard, name: str) -> None:
    page.goto(f"http://127.0.0.1:{dashboard.port}/#{name}")
    page.wait_for_selector(f'#page[data-page="{name}"][data-ready="1"]', timeout=10_000)


def test_every_page_loads_and_is_photographed(browser_page: tuple[Dashboard, Any, Path]) -> None:
    dashboard, page, shots = browser_page
    expected = {"live": "Predictions and truth", "decisions": "reuse", "models": "Roll back",
                "approach": "harmone.toml", "experiments": "experiment/first", "runs": "harmone infer"}
    for name in PAGES:
        _open(page, dashboard, name)
        page.wait_for_function("t => document.body.innerText.includes(t)", arg=expected[name], timeout=10_000)
        page.screenshot(path=str(shots / f"dashboard-{name}.png"), full_page=True)
        assert (shots / f"dashboard-{name}.png").stat().st_size > 10_000
    _open(page, dashboard, "decisions")
    page.select_option("#filter-decision", "no-drift")
    page.wait_for_function("() => document.querySelectorAll('tr[data-event]').length === 1", timeout=5000)


def test_the_live_chart_follows_an_infer_run_started_and_stopped_from_the_page(
        browser_page: tuple[Dashboard, Any, Path]) -> None:
    dashboard, page, shots = browser_page
    _open(page, dashboard, "runs")
    page.fill("#infer-interval", "0.01")
    page.click("#start-infer")
    page.wait_for_selector('[data-run="infer"][data-running="true"]', timeout=10_000)
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


def test_screenshots_can_be_kept(browser_page: tuple[Dashboard, Any, Path]) -> None:
    """With HARMONE_SCREENSHOTS=docs/img the README's pictures are refreshed from this run."""
    _, _, shots = browser_page
    assert sorted(p.name for p in shots.glob("dashboard-*.png")) == sorted(
        [f"dashboard-{name}.png" for name in PAGES] + ["dashboard-live-running.png"])

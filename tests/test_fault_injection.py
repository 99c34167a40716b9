"""SIGKILL at random seeded moments: the workspace stays consistent and the next command continues.

The quick subset (one kill per command) runs with the suite; ``-m faults`` adds more seeds,
and benchmarks/bench_faults.py does more than a hundred kills (docs/reliability.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import faults  # noqa: E402


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return faults.make_template(tmp_path_factory.mktemp("faults"))


def _assert_consistent(injection: faults.Injection) -> None:
    assert injection.problems == [], injection.to_dict()
    assert injection.continued


@pytest.mark.slow
@pytest.mark.parametrize("scenario", faults.SCENARIOS)
def test_a_kill_leaves_a_workspace_the_next_command_continues(template: Path, tmp_path: Path, scenario: str) -> None:
    _assert_consistent(faults.inject(template, scenario, 0, tmp_path))


@pytest.mark.faults
@pytest.mark.parametrize("seed", range(1, 6))
@pytest.mark.parametrize("scenario", faults.SCENARIOS)
def test_more_kills(template: Path, tmp_path: Path, scenario: str, seed: int) -> None:
    _assert_consistent(faults.inject(template, scenario, seed, tmp_path))


def test_the_checks_notice_a_doubled_position_and_an_unrecorded_promotion(template: Path, tmp_path: Path) -> None:
    import shutil
    import sqlite3

    ws = tmp_path / "ws"
    shutil.copytree(template, ws, symlinks=True)
    assert faults.check(ws) == []
    db = sqlite3.connect(ws / "knowledge" / "knowledge.db")
    with db:
        db.execute("INSERT INTO predictions (time_s, true_value, predicted_value, model, version, latency_s,"
                   " energy_uj) SELECT time_s, true_value, predicted_value, model, version, latency_s, energy_uj"
                   " FROM predictions ORDER BY id DESC LIMIT 1")
    db.close()
    assert any("rows logged" in problem for problem in faults.check(ws))

    from harmone.mape.execute import RetrainRequest, retrain_version
    from harmone.workspace import Workspace

    workspace = Workspace.open(ws)
    import numpy as np

    retrain_version(workspace, RetrainRequest("linear", np.linspace(100, 300, 300), "periodic", 0), workspace.config)
    assert any("without an event" in problem for problem in faults.check(ws, exact_positions=False))

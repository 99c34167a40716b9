"""`harmone approach | reset | run | events | manage` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harmone.approaches import APPROACHES
from harmone.cli import main
from harmone.knowledge import KnowledgeStore
from harmone.repository import ModelRepository
from harmone.workspace import Workspace

from conftest import edit_config


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _env() -> dict[str, str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    env.pop("HARMONE_WORKSPACE", None)
    return env


def harmone(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harmone", *args], cwd=cwd, env=_env(), text=True,
                          capture_output=True, stdin=subprocess.DEVNULL, timeout=120)


def test_approach_lists_the_tasks_approaches_and_marks_the_current_one(trained_workspace: Workspace,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "approach", "-w", str(trained_workspace.root))
    assert code == 0
    lines = out.splitlines()
    listed = [line[2:].split()[0] for line in lines]
    assert listed == [name for name in APPROACHES if "cnn" not in name and "logistic" not in name]
    assert listed[:3] == ["harmone", "switch", "switch+retrain"] and "single-lstm+retrain" in listed
    assert [line for line in lines if line.startswith("*")] == [lines[0]]  # harmone is the default


def test_a_single_model_approach_is_persisted_and_pins_its_model(trained_workspace: Workspace,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    root = str(trained_workspace.root)
    code, out, _ = cli(capsys, "approach", "single-svm+retrain", "-w", root)
    assert code == 0 and "single-svm+retrain" in out
    assert trained_workspace.read_active_model() == "svm"
    _, out, _ = cli(capsys, "approach", "-w", root)
    assert [line.split()[1] for line in out.splitlines() if line.startswith("*")] == ["single-svm+retrain"]
    with KnowledgeStore(trained_workspace.db_path) as store:
        assert store.get_state("approach") == "single-svm+retrain"


def test_an_unknown_approach_is_an_error_listing_the_valid_ones(trained_workspace: Workspace,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "approach", "single-xgboost", "-w", str(trained_workspace.root))
    assert code == 1
    assert "'single-xgboost'" in err and ", ".join(APPROACHES) in err
    assert err.count("\n") == 1


def test_run_simulated_prints_a_summary_and_events_lists_every_decision(
        trained_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(trained_workspace.root)
    code, out, _ = cli(capsys, "run", "--simulate", "--approach", "switch", "--steps", "900", "--seed", "2",
                       "--json", "-w", root)
    assert code == 0
    summary = json.loads(out)
    assert summary["predictions"] == 900 and summary["simulated"] is True
    assert summary["meter_kind"] in {"measured", "estimated"}

    code, out, _ = cli(capsys, "events", "--json", "-w", root)
    events = json.loads(out)
    assert len(events) == summary["events"] == 3  # 900 x 0.15 s = 135 s: switch runs at 40, 80, 120 s
    for event in events:
        assert {"time", "loop", "action", "model", "version", "energy_uj"} <= set(event)
        assert event["loop"] == "switch" and event["action"] in {"none", "switch"}
        assert event["model"] in {"linear", "svm"} and event["version"] == 1 and event["energy_uj"] >= 0
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)

    code, out, _ = cli(capsys, "events", "-w", root)
    assert code == 0 and len(out.splitlines()) == 1 + len(events)  # header + one line each
    _, out, _ = cli(capsys, "events", "--loop", "drift", "--json", "-w", root)
    assert json.loads(out) == []


def test_reset_refuses_without_confirmation_when_not_on_a_terminal(trained_workspace: Workspace) -> None:
    result = harmone("reset", "-w", str(trained_workspace.root), cwd=trained_workspace.root)
    assert result.returncode == 1
    assert "--yes" in result.stderr and result.stderr.count("\n") == 1
    assert ModelRepository(trained_workspace).trained_kinds() == ["linear", "svm"]


def test_reset_yes_clears_models_log_events_and_loop_state_but_keeps_the_approach(
        trained_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    root = str(trained_workspace.root)
    cli(capsys, "approach", "switch", "-w", root)
    assert cli(capsys, "run", "--simulate", "--steps", "600", "--quiet", "-w", root)[0] == 0
    with KnowledgeStore(trained_workspace.db_path) as store:
        assert store.count_predictions() == 600 and store.get_state("switch_loop") is not None

    code, out, _ = cli(capsys, "reset", "--yes", "-w", root)

    assert code == 0 and "2 model versions, 600 predictions" in out
    assert list(trained_workspace.models_dir.iterdir()) == []
    assert list(trained_workspace.versions_dir.iterdir()) == []
    with KnowledgeStore(trained_workspace.db_path) as store:
        assert store.count_predictions() == 0 and store.events() == []
        assert store.get_state("switch_loop") is None and store.get_state("stream_position") is None
        assert store.get_state("approach") == "switch"
    assert trained_workspace.config_path.is_file() and trained_workspace.test_path.is_file()


def test_manage_beside_infer_switches_the_model_inference_serves(trained_workspace: Workspace) -> None:
    # Every switch-loop run explores, so the manager switches at its first run with data.
    edit_config(trained_workspace, {"explore_probability = 0.1": "explore_probability = 1.0"})
    root = str(trained_workspace.root)
    scale = "40"  # a switch-loop period of 40 s becomes 1 s; a prediction every 3.75 ms
    command = [sys.executable, "-m", "harmone"]
    infer = subprocess.Popen([*command, "infer", "--time-scale", scale, "--quiet", "-w", root], env=_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    manage = subprocess.Popen([*command, "manage", "--time-scale", scale, "-w", root], env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        switch = None
        deadline = time.monotonic() + 20
        with KnowledgeStore(trained_workspace.db_path) as store:
            while switch is None and time.monotonic() < deadline:
                switches = [e for e in store.events(loop="switch") if e.action == "switch"]
                switch = switches[0] if switches else None
                time.sleep(0.1)
            assert switch is not None, "the manager made no switch"
            assert (switch.observed["source"], switch.model) == ("linear", "svm")
            served: set[str] = set()
            while "svm" not in served and time.monotonic() < deadline:
                served = set(store.predictions_after(switch.observed["last_row_id"]).model)
                time.sleep(0.1)
        assert "svm" in served, "inference never served the model the manager switched to"
        manage.send_signal(signal.SIGINT)
        out, err = manage.communicate(timeout=10)
        assert manage.returncode == 0, err
        assert "explore" in out and "Stopped; loop state and schedule are saved" in out
    finally:
        for process in (manage, infer):
            if process.poll() is None:
                process.kill()
            process.communicate()


def test_status_and_events_read_a_typed_model_without_writing(trained_workspace: Workspace,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from harmone.knowledge import LoopName, SwitchLoopState
    from harmone.status import read_status

    root = str(trained_workspace.root)
    before = read_status(trained_workspace)
    assert before.loops.approach == "harmone" and before.loops.switch is not None and before.loops.drift is None
    assert cli(capsys, "run", "--simulate", "--approach", "switch", "--steps", "600", "--json", "-w", root)[0] == 0
    db_bytes = trained_workspace.db_path.read_bytes()
    status = read_status(trained_workspace, with_events=True)
    assert isinstance(status.loops.switch, SwitchLoopState) and status.loops.switch.counts.runs == 2
    assert status.predictions == 600 and status.recent_r2 is not None and status.events.by_loop == {"switch": 2}
    assert status.to_dict()["switch"]["counts"] == {"runs": 2, **({"switches": status.events.switches}
                                                                  if status.events.switches else {})}
    code, out, _ = cli(capsys, "events", "--last", "1", "--json", "-w", root)
    [last] = json.loads(out)
    assert last["loop"] == LoopName.SWITCH and last["time"] > 80.0
    assert trained_workspace.db_path.read_bytes() == db_bytes  # readers wrote nothing


def test_status_of_a_fresh_workspace_creates_no_knowledge_base(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    workspace, _ = Workspace.init(tmp_path / "ws")
    code, out, _ = cli(capsys, "status", "-w", str(workspace.root))
    assert code == 0 and "approach:      harmone" in out and "predictions:   0" in out
    code, out, _ = cli(capsys, "events", "-w", str(workspace.root))
    assert code == 0 and out.startswith("No events")
    assert not workspace.db_path.exists()


def test_status_and_events_show_the_models_own_energy_apart_from_the_serving_overhead(
        trained_workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    from harmone.energy.calibrate import Calibration
    from harmone.knowledge import Event

    Calibration(energy_uj_per_prediction={"linear": 600.0, "svm": 700.0},
                overhead_uj_per_prediction={"linear": 100.0, "svm": 100.0},
                duration_s_per_prediction={"linear": 1e-5, "svm": 1e-5}, e_min_uj=0.0, e_max_uj=875.0,
                meter_kind="estimated", meter_source="cpu-time-estimate:thread@15W/core", predictions=200,
                headroom=1.25, gap_s=0.01).save(trained_workspace.calibration_path)
    with KnowledgeStore(trained_workspace.db_path) as store:
        store.append_predictions([(float(i), 300.0, 301.0, "linear", 1, 1e-5, 900.0, 660.0) for i in range(10)])
        store.set_state({"meter": {"kind": "estimated", "source": "cpu-time-estimate:thread@15W/core"}})
        store.record_event(Event(
            time_s=40.0, loop="switch", action="none", model="linear", version=1, energy_uj=5.0, decision="ok",
            observed={"action": "none", "source": "linear", "target": None, "reason": "ok", "r2": 0.9,
                      "normalised_energy": 0.69, "ema": 0.8, "budget": 1.0, "recovery": 0,
                      "per_model": {"linear": {"rows": 10, "r2": 0.9, "energy_uj": 660.0, "overhead_uj": 240.0,
                                               "normalised_energy": 0.69, "score": 0.8}},
                      "energy_basis": {"factor": 1.1, "rows": 10, "by_kind": {"linear": 1.1}}}))
    root = str(trained_workspace.root)
    code, out, _ = cli(capsys, "status", "-w", root)
    assert code == 0
    assert "live estimated, calibrated estimated" in out
    assert "linear      live 660.0 + 240.0 over 10 rows; calibrated 600.0 + 100.0" in out
    assert "svm         not served recently; calibrated 700.0 + 100.0" in out
    assert "live correction (live over calibrated model energy, newest rows): linear x1.100;" in out
    code, out, _ = cli(capsys, "status", "--json", "-w", root)
    energy = json.loads(out)["energy"]["linear"]
    assert energy["live_model_uj"] == pytest.approx(660.0) and energy["live_overhead_uj"] == pytest.approx(240.0)
    code, out, _ = cli(capsys, "events", "-w", root)
    assert "µJ 660 model + 240 overhead" in out and "live/calibrated x1.10" in out

"""End to end: the real `harmone` command in a temporary workspace."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FAST_CONFIG


def harmone(*args: str, cwd: Path, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    env.pop("HARMONE_WORKSPACE", None)
    result = subprocess.run([sys.executable, "-m", "harmone", *args], cwd=cwd, env=env, text=True,
                            capture_output=True, input=input, timeout=600)
    if check and result.returncode != 0:
        raise AssertionError(f"harmone {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@pytest.mark.slow
def test_init_synth_train_infer_status_export(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    out = harmone("init", "-w", str(ws), cwd=tmp_path)
    assert "Initialised" in out.stdout
    config = ws / "harmone.toml"
    text = config.read_text()
    for old, new in FAST_CONFIG.items():
        text = text.replace(old, new)
    config.write_text(text)
    assert "already" in harmone("init", "-w", str(ws), cwd=tmp_path).stdout

    out = harmone("data", "synth", "--seed", "3", cwd=ws)
    assert (ws / "data" / "flow_data_train.csv").read_text().startswith("flow\n")
    assert "for training" in out.stdout

    out = harmone("train", cwd=ws)
    for kind in ("lstm", "svm", "linear"):
        assert kind in out.stdout
        assert (ws / "versionedMR" / kind / "version_1" / "meta.json").is_file()
        assert (ws / "models" / kind).resolve() == (ws / "versionedMR" / kind / "version_1").resolve()

    (ws / "knowledge" / "model.csv").write_text("svm\n")
    out = harmone("infer", "--steps", "40", "--interval", "0", "--quiet", cwd=ws)
    assert "40 predictions" in out.stdout

    status = json.loads(harmone("status", "--json", cwd=ws).stdout)
    assert status["predictions"] == 40
    assert status["active_model"] == "svm"
    assert status["models"]["lstm"]["versions"] == [1]
    assert status["meter"]["kind"] in {"measured", "estimated"}
    assert isinstance(status["recent_r2"], float) and status["recent_r2"] <= 1.0

    harmone("export", "predictions", "-o", str(tmp_path / "log.csv"), cwd=ws)
    with open(tmp_path / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 40
    assert {r["model_used"] for r in rows} == {"svm"}
    assert all(float(r["energy_uj"]) >= 0 for r in rows)


def test_commands_outside_a_workspace_fail_with_one_clear_line(tmp_path: Path) -> None:
    result = harmone("status", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "not a HarmonE workspace" in result.stderr


def test_bad_import_names_file_row_and_value_and_writes_nothing(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    harmone("init", "-w", str(ws), cwd=tmp_path)
    bad = tmp_path / "pems.csv"
    bad.write_text("Timestamp,Flow (Veh/5 Minutes)\n" + "".join(f"t{i},{100 + i}\n" for i in range(50))
                   + "t50,lots\n")
    result = harmone("data", "import", str(bad), cwd=ws, check=False)
    assert result.returncode == 1
    message = result.stderr.strip()
    assert message.count("\n") == 0
    assert "pems.csv" in message and "52" in message and "lots" in message
    assert not (ws / "data" / "flow_data_test.csv").exists()


def test_data_drift_rewrites_the_test_stream_with_a_backup_and_rejects_bad_regions(
        trained_workspace_dir: Path) -> None:
    ws = trained_workspace_dir
    test_csv = ws / "data" / "flow_data_test.csv"
    before = test_csv.read_text()
    bad = harmone("data", "drift", "--region", "10:5:1.5:0", "--yes", cwd=ws, check=False)
    assert bad.returncode == 1 and "10:5:1.5:0" in bad.stderr
    assert test_csv.read_text() == before
    out = harmone("data", "drift", "--region", "100:200:2:10", "--plot", "drift.png", "--yes", cwd=ws)
    assert "backup" in out.stdout and (ws / "drift.png").is_file()
    after = [float(v) for v in test_csv.read_text().splitlines()[1:]]
    original = [float(v) for v in before.splitlines()[1:]]
    assert after[150] == pytest.approx(original[150] * 2 + 10)
    assert after[50] == original[50]
    assert list((ws / "data").glob("*.bak-*.csv"))


def test_ctrl_c_stops_inference_cleanly_and_keeps_every_logged_prediction(trained_workspace_dir: Path) -> None:
    import signal
    import sqlite3
    import time

    env = {**os.environ, "PYTHONWARNINGS": "error"}
    process = subprocess.Popen([sys.executable, "-m", "harmone", "infer", "--interval", "0.01"],
                               cwd=trained_workspace_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        deadline = time.monotonic() + 60
        printed = 0
        assert process.stdout is not None
        while printed < 30 and time.monotonic() < deadline:  # let it make some predictions
            if process.stdout.readline():
                printed += 1
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    printed += sum(1 for line in stdout.splitlines() if " v1 " in line)
    with sqlite3.connect(trained_workspace_dir / "knowledge" / "knowledge.db") as db:
        logged = db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0]
    assert logged == printed >= 30  # not a single printed prediction was lost
    assert "Stopped" in stderr


@pytest.fixture
def trained_workspace_dir(trained_workspace: object) -> Path:
    return trained_workspace.root  # type: ignore[attr-defined]

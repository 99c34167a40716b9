"""HarmonE's own child processes (the dashboard's runs, the retraining child) start isolated: this
interpreter by its absolute path, no workspace on the import path, this very harmone package."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harmone import child
from harmone.mape.execute import child_command


def _plant(folder: Path, marker: Path) -> None:
    """A numpy.py and a harmone/ package that would leave ``marker`` behind if imported."""
    code = f"import pathlib; pathlib.Path({str(marker)!r}).write_text(__file__)\n"
    (folder / "numpy.py").write_text(code)
    (folder / "harmone").mkdir()
    for name in ("__init__.py", "__main__.py", "cli.py"):
        (folder / "harmone" / name).write_text(code)


def test_the_command_is_this_interpreter_isolated_running_this_package() -> None:
    argv = child.command("harmone.mape.retrain_job:main", "--help")
    assert os.path.isabs(argv[0]) and argv[0] == os.path.abspath(sys.executable)
    assert argv[1] == "-I" and argv[-1] == "--help"
    import harmone

    assert Path(harmone.__file__).resolve().parent.parent == Path(argv[4]).resolve()
    assert child.cli_command("status")[-1] == "status"
    with pytest.raises(ValueError):
        child.command("os:system")
    with pytest.raises(ValueError):
        child.command("harmone.cli:main; import os")


@pytest.mark.slow
def test_a_workspace_with_numpy_py_and_a_harmone_folder_runs_neither(tmp_path: Path) -> None:
    """Even started inside such a folder, and with PYTHONPATH pointing at it, the children run the real code."""
    from conftest import make_workspace

    workspace = make_workspace(tmp_path / "ws", n=600)
    marker = tmp_path / "ran"
    _plant(workspace.root, marker)
    env = {**os.environ, "PYTHONPATH": str(workspace.root)}
    status = subprocess.run(child.cli_command("status", "-w", str(workspace.root)), cwd=workspace.root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert status.returncode == 0, status.stderr
    assert "predictions" in status.stdout  # HarmonE's own status
    retrain = subprocess.run([*child_command(), "--help"], cwd=workspace.root, env=env, capture_output=True,
                             text=True, timeout=120)
    assert retrain.returncode == 0 and "retrain one model kind" in retrain.stdout, retrain.stderr
    assert not marker.exists(), f"workspace code ran: {marker.read_text()}"

    started = child.start(child.cli_command("status", "-w", str(workspace.root)), stdout=subprocess.PIPE)
    out, _ = started.communicate(timeout=120)
    assert started.returncode == 0 and b"predictions" in out and not marker.exists()

"""The CLI boundary: one line per failure, tracebacks on request, quiet closed pipes, checked outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import harmone.status
from harmone.cli import main
from harmone.errors import HarmonEError
from harmone.workspace import Workspace


def fail_status_with(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def broken(workspace: Workspace) -> dict:
        raise exc

    monkeypatch.setattr(harmone.status, "read_status", broken)


def test_an_unexpected_exception_is_one_line_naming_command_and_type(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HARMONE_DEBUG", raising=False)
    fail_status_with(monkeypatch, ValueError("bad\nthing"))
    assert main(["status", "-w", str(workspace.root)]) == 1
    err = capsys.readouterr().err
    assert err == ("harmone: error: harmone status failed: ValueError: bad thing "
                   "(unexpected; run again with --debug or HARMONE_DEBUG=1 for the traceback)\n")


@pytest.mark.parametrize("how", ["option-first", "option-last", "environment"])
def test_debug_shows_the_traceback(workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str], how: str) -> None:
    fail_status_with(monkeypatch, ValueError("bad"))
    argv = ["status", "-w", str(workspace.root)]
    if how == "environment":
        monkeypatch.setenv("HARMONE_DEBUG", "1")
    else:
        monkeypatch.delenv("HARMONE_DEBUG", raising=False)
        argv = ["--debug", *argv] if how == "option-first" else [*argv, "--debug"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.splitlines()[-1].startswith("harmone: error: harmone status failed: ValueError: bad")


def test_harmone_errors_keep_their_format_and_interrupts_exit_130(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("HARMONE_DEBUG", raising=False)
    fail_status_with(monkeypatch, HarmonEError("x.csv: line 3: broken"))
    assert main(["status", "-w", str(workspace.root)]) == 1
    assert capsys.readouterr().err == "harmone: error: x.csv: line 3: broken\n"
    fail_status_with(monkeypatch, KeyboardInterrupt())
    assert main(["status", "-w", str(workspace.root)]) == 130
    assert capsys.readouterr().err == "harmone: interrupted\n"


def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["data", "synth", "--steps", "nan"])
    assert info.value.code == 2
    assert capsys.readouterr().err == ("harmone data synth: error: argument --steps: 'nan' is not a whole number "
                                       "(see `harmone data synth --help`)\n")


@pytest.mark.parametrize(("value", "message"), [
    ("nan", "'nan' is not a finite number"), ("inf", "'inf' is not a finite number"),
    ("0", "'0' must be > 0 and < 1"), ("1", "'1' must be > 0 and < 1"), ("x", "'x' is not a number"),
])
def test_numeric_options_are_finite_and_in_range(value: str, message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["data", "import", "f.csv", "--train-ratio", value])
    assert f"argument --train-ratio: {message}" in capsys.readouterr().err


def test_arg_types() -> None:
    import argparse

    from harmone.cli.args import bounded_int, finite_float, positive_int

    assert finite_float(0, 10)("10") == 10.0
    with pytest.raises(argparse.ArgumentTypeError, match="must be >= 0 and <= 10"):
        finite_float(0, 10)("10.5")
    with pytest.raises(argparse.ArgumentTypeError, match="must be >= 1"):
        positive_int("0")
    assert bounded_int(-3, 3)("-3") == -3


# -- export --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("output", "fragment"), [
    ("/proc/x.csv", "cannot write the export there"),
    ("{tmp}/missing/x.csv", "does not exist"),
    ("{tmp}", "is a directory"),
])
def test_export_checks_its_output_before_writing(trained_workspace: Workspace, tmp_path: Path, output: str,
                                                 fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    output = output.replace("{tmp}", str(tmp_path))
    listing = sorted(tmp_path.iterdir())
    assert main(["export", "predictions", "-w", str(trained_workspace.root), "-o", output]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"harmone: error: {output}: ") and fragment in err and err.count("\n") == 1
    assert sorted(tmp_path.iterdir()) == listing


def harmone_pipe(ws: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in {"HARMONE_WORKSPACE", "HARMONE_DEBUG"}}
    return subprocess.Popen([sys.executable, "-m", "harmone", *args, "-w", str(ws)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def read_one_line_then_close(process: subprocess.Popen[bytes]) -> tuple[bytes, int, bytes]:
    """What `| head -1` does: read a line, close the pipe, leave the writer to notice."""
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    process.stdout.close()
    err = process.stderr.read()
    process.stderr.close()
    return line, process.wait(timeout=120), err


def test_a_closed_pipe_ends_infer_and_export_quietly(trained_workspace: Workspace, tmp_path: Path) -> None:
    ws = trained_workspace.root
    assert main(["infer", "-w", str(ws), "--steps", "1500", "--interval", "0", "--quiet"]) == 0
    line, code, err = read_one_line_then_close(harmone_pipe(ws, "infer", "--steps", "200", "--interval", "0"))
    assert line.split()[1] == b"linear" and (code, err) == (0, b"")
    # Enough rows to fill the pipe: the export is still writing when the reader leaves.
    line, code, err = read_one_line_then_close(harmone_pipe(ws, "export", "predictions", "-o", "-"))
    assert line.startswith(b"true_value,predicted_value") and (code, err) == (0, b"")
    assert main(["export", "predictions", "-w", str(ws), "-o", str(tmp_path / "log.csv")]) == 0
    assert len((tmp_path / "log.csv").read_text().splitlines()) > 1500


@pytest.mark.parametrize(("relative", "command"), [("harmone.toml", "status"), ("knowledge/model.csv", "status"),
                                                   ("knowledge/model.csv", "infer")])
def test_binary_bytes_in_workspace_files_name_the_file(trained_workspace: Workspace, relative: str, command: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = trained_workspace.root / relative
    path.write_bytes(b"\xff\xfe\x00\x81")
    assert main([command, "-w", str(trained_workspace.root)]) == 1
    assert capsys.readouterr().err == f"harmone: error: {path}: not UTF-8 text (invalid start byte at byte 0)\n"


def test_export_replaces_the_output_whole_with_a_normal_file_mode(trained_workspace: Workspace,
                                                                  tmp_path: Path) -> None:
    output = tmp_path / "log.csv"
    output.write_text("old\n")
    output.chmod(0o640)
    assert main(["export", "predictions", "-w", str(trained_workspace.root), "-o", str(output)]) == 0
    assert output.read_text().startswith("true_value,") and output.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv", "ws"]


def test_a_file_that_cannot_be_read_or_written_is_one_line_naming_it(
        workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A PermissionError on an unwritable folder (root cannot be denied, so it is raised here)."""
    fail_status_with(monkeypatch, PermissionError(13, "Permission denied", "/srv/ws/knowledge/x.tmp"))
    assert main(["status", "-w", str(workspace.root)]) == 1
    assert capsys.readouterr().err == ("harmone: error: /srv/ws/knowledge/x.tmp: Permission denied"
                                       " (harmone status stopped)\n")

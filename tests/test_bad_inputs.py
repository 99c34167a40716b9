"""A bad-input corpus: every case runs the real `harmone` command in a copy of a trained workspace.

For each case: a non-zero exit, exactly one line on stderr (no traceback), and the stored
files (data/, models/, versionedMR/, harmone.toml, knowledge/model.csv) byte for byte as
before the command. Cases that still fail are marked ``xfail(strict=True)`` with the defect.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import make_workspace

Setup = Callable[[Path, Path], None]


@dataclass(frozen=True)
class Case:
    """``argv`` may hold ``{ws}`` (the workspace) and ``{tmp}`` (a scratch folder beside it)."""

    id: str
    argv: tuple[str, ...]
    setup: Setup | None = None
    expect: str = ""
    defect: str | None = None


def series(n: int = 200, *, bad: str | None = None, at: int = 100, head: str = "value") -> str:
    values = [f"{100 + (i % 17) * 3.5}" for i in range(n)]
    if bad is not None:
        values[at] = bad
    return head + "\n" + "\n".join(values) + "\n"


def file(text: str | bytes, name: str = "in.csv") -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        (tmp / name).write_bytes(data)
    return setup


def replace_in(relative: str, old: str | bytes, new: str | bytes) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        path = ws / relative
        data = path.read_bytes()
        old_b = old.encode() if isinstance(old, str) else old
        new_b = new.encode() if isinstance(new, str) else new
        assert old_b in data, f"{old_b!r} not in {relative}"
        path.write_bytes(data.replace(old_b, new_b, 1))
    return setup


def write(relative: str, data: bytes) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        (ws / relative).resolve().write_bytes(data)
    return setup


def set_state(key: str, raw_value: str) -> Setup:
    """Store ``raw_value`` verbatim (not JSON-encoded) as a knowledge-base state value."""
    def setup(ws: Path, tmp: Path) -> None:
        import sqlite3

        db = sqlite3.connect(ws / "knowledge" / "knowledge.db")
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", (key, raw_value))
        db.close()
    return setup


def append(relative: str, text: str) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        with open(ws / relative, "a", encoding="utf-8") as handle:
            handle.write(text)
    return setup


def _version_link_outside(ws: Path, tmp: Path) -> None:
    """``version_2`` a link to a copy of version 1 outside the workspace, and made active."""
    outside = tmp / "outside"
    shutil.copytree(ws / "versionedMR" / "linear" / "version_1", outside)
    os.symlink(outside, ws / "versionedMR" / "linear" / "version_2")
    link = ws / "models" / "linear"
    link.unlink()
    os.symlink(os.path.join("..", "versionedMR", "linear", "version_2"), link)


IMPORT = ("data", "import", "-w", "{ws}", "{tmp}/in.csv")
DRIFT = ("data", "drift", "-w", "{ws}", "--yes")
INFER = ("infer", "-w", "{ws}", "--steps", "2", "--interval", "0", "--quiet")
STATUS = ("status", "-w", "{ws}")
ACTIVE = "models/linear"  # the active version's folder, through its link


CASES = [
    # -- data files given to `data import` ------------------------------------------------------
    Case("import-decimal-comma-one-column", IMPORT, file(series(bad="2,5")), "decimal comma"),
    Case("import-decimal-comma-every-row", IMPORT, file("value\n" + "1,5\n" * 200), "decimal comma"),
    Case("import-quoted-decimal-comma", IMPORT, file(series(bad='"2,5"')), "'2,5' is not a number"),
    Case("import-semicolon-header-forced-comma", IMPORT + ("--column", "DPB", "--delimiter", ","),
         file("day;DPB\n" + "".join(f"{i};{i}.5\n" for i in range(200))), "try --delimiter ';'"),
    Case("import-tab-header-forced-comma", IMPORT + ("--column", "DPB", "--delimiter", ","),
         file("day\tDPB\n" + "".join(f"{i}\t{i}\n" for i in range(200))), "try --delimiter '\\t'"),
    Case("import-pipe-header-forced-semicolon", IMPORT + ("--column", "DPB", "--delimiter", ";"),
         file("day|DPB\n" + "".join(f"{i}|{i}\n" for i in range(200))), "try --delimiter '|'"),
    Case("import-empty-file", IMPORT, file(""), "file is empty"),
    Case("import-whitespace-only", IMPORT, file("  \n\n"), "file is empty"),
    Case("import-header-only", IMPORT, file("value\n"), "no data rows"),
    Case("import-header-and-blank-lines", IMPORT, file("value\n\n\n"), "no data rows"),
    Case("import-not-a-number", IMPORT, file(series(bad="abc")), "'abc' is not a number"),
    Case("import-hex", IMPORT, file(series(bad="0x10")), "is not a number"),
    Case("import-nan-text", IMPORT, file(series(bad="nan")), "missing value"),
    Case("import-blank-cell", IMPORT, file(series(bad=" ")), "blank value"),
    Case("import-inf", IMPORT, file(series(bad="inf")), "not a finite number"),
    Case("import-minus-inf", IMPORT, file(series(bad="-inf")), "not a finite number"),
    Case("import-overflow-to-inf", IMPORT, file(series(bad="1e400")), "not a finite number"),
    Case("import-absurd-1e308", IMPORT, file(series(bad="1e308")), "beyond the supported magnitude"),
    Case("import-absurd-negative", IMPORT, file(series(bad="-2e15")), "beyond the supported magnitude"),
    Case("import-absurd-1e16", IMPORT, file(series(bad="1e16")), "line 102"),
    Case("import-training-too-short", IMPORT, file(series(60)), "--train-ratio"),
    Case("import-far-too-few", IMPORT, file(series(8)), "too few"),
    Case("import-missing-column", IMPORT + ("--column", "nope"), file(series()), "found: 'value'"),
    Case("import-missing-time-column", IMPORT + ("--time-column", "day"), file(series()), "no column 'day'"),
    Case("import-time-column-is-value-column", IMPORT + ("--column", "value", "--time-column", "value"),
         file(series()), "both the values and the time stamps"),
    Case("import-ambiguous-column", IMPORT, file("a,b,c\n" + "1,2,3\n" * 200), "found: 'a', 'b', 'c'"),
    Case("import-binary", IMPORT, file(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe"), "not UTF-8"),
    Case("import-utf16", IMPORT, file("value\n1\n2\n".encode("utf-16")), "not UTF-8"),
    Case("import-nul-byte", IMPORT, file(series(bad="1\x002")), "in.csv"),
    Case("import-unterminated-quote", IMPORT, file(series(bad='"12')), "in.csv"),
    Case("import-directory", ("data", "import", "-w", "{ws}", "{tmp}"), None, "is a directory"),
    Case("import-missing-file", ("data", "import", "-w", "{ws}", "{tmp}/absent.csv"), None, "file not found"),
    Case("import-same-file-twice", IMPORT + ("{tmp}/in.csv",), file(series()), "given more than once"),
    Case("import-short-row", IMPORT + ("--column", "b"),
         file("a,b\n" + "1,2\n" * 100 + "3\n" + "1,2\n" * 100), "no value for column 'b'"),
    Case("import-long-row", IMPORT + ("--column", "b"),
         file("a,b\n" + "1,2\n" * 100 + "1,2,3\n"), "3 fields"),
    Case("import-pems-negative", IMPORT,
         file("Timestamp,Flow (Veh/5 Minutes)\n" + "t,5\n" * 100 + "t,-1\n" + "t,5\n" * 100), "non-negative"),
    Case("import-declared-non-negative", IMPORT + ("--non-negative",), file(series(bad="-0.18")), "non-negative"),
    Case("import-second-file-other-header", IMPORT + ("{tmp}/b.csv",),
         lambda ws, tmp: (file(series())(ws, tmp), file(series(head="other"), "b.csv")(ws, tmp)),
         "in.csv: no column 'other'"),
    Case("import-fill-unknown", IMPORT + ("--fill", "zero"), file(series()), "invalid choice"),
    Case("import-delimiter-unknown", IMPORT + ("--delimiter", "x"), file(series()), "--delimiter"),
    Case("import-decimal-unknown", IMPORT + ("--decimal", ";"), file(series()), "--decimal"),
    Case("import-decimal-equals-delimiter", IMPORT + ("--decimal", ",", "--delimiter", ","),
         file(series()), "cannot both be"),
    *[Case(f"import-train-ratio-{text}", IMPORT + ("--train-ratio", text), file(series()), "--train-ratio")
      for text in ("0", "1", "nan", "inf", "-0.5", "abc")],
    # -- `data synth` and `data drift` options ----------------------------------------------------
    Case("synth-steps-zero", ("data", "synth", "-w", "{ws}", "--steps", "0"), None, "--steps"),
    Case("synth-steps-negative", ("data", "synth", "-w", "{ws}", "--steps", "-5"), None, "--steps"),
    Case("synth-steps-nan", ("data", "synth", "-w", "{ws}", "--steps", "nan"), None, "--steps"),
    Case("synth-seed-negative", ("data", "synth", "-w", "{ws}", "--seed", "-1"), None, "--seed"),
    Case("synth-train-ratio-two", ("data", "synth", "-w", "{ws}", "--train-ratio", "2"), None, "--train-ratio"),
    Case("synth-profile-unknown", ("data", "synth", "-w", "{ws}", "--profile", "nope"), None, "invalid choice"),
    Case("drift-region-three-parts", DRIFT + ("--region", "1:2:3"), None, "START:END:SCALE:SHIFT"),
    Case("drift-region-words", DRIFT + ("--region", "a:b:1:0"), None, "whole numbers"),
    Case("drift-region-nan-scale", DRIFT + ("--region", "0:10:nan:0"), None, "finite"),
    Case("drift-region-inf-shift", DRIFT + ("--region", "0:10:1:inf"), None, "finite"),
    Case("drift-region-negative-scale", DRIFT + ("--region", "0:10:-1:0"), None, "SCALE must be >= 0"),
    Case("drift-region-reversed", DRIFT + ("--region", "10:5:1:0"), None, "less than END"),
    Case("drift-region-beyond", DRIFT + ("--region", "0:999999:1:0"), None, "beyond the test stream"),
    Case("drift-region-absurd-result", DRIFT + ("--region", "0:10:1e300:0"), None, "magnitude"),
    Case("drift-regions-overlap", DRIFT + ("--region", "0:10:1:0", "--region", "5:20:1:0"), None, "overlap"),
    Case("drift-plot-in-proc", DRIFT + ("--region", "0:100:2:0", "--plot", "/proc/x.png"), None, "/proc/x.png"),
    Case("drift-plot-missing-folder", DRIFT + ("--region", "0:10:2:0", "--plot", "{tmp}/no/x.png"), None,
         "does not exist"),
    Case("drift-plot-is-directory", DRIFT + ("--region", "0:10:2:0", "--plot", "{tmp}"), None, "is a directory"),
    Case("drift-plot-is-test-file", DRIFT + ("--region", "0:10:2:0", "--plot", "{ws}/data/flow_data_test.csv"),
         None, "inside the workspace's own state"),
    Case("drift-test-file-decimal-comma", DRIFT + ("--region", "0:10:2:0",),
         write("data/flow_data_test.csv", b"flow\n1\n2,5\n3\n"), "decimal comma"),
    # -- `export` ---------------------------------------------------------------------------------
    Case("export-into-proc", ("export", "predictions", "-w", "{ws}", "-o", "/proc/x.csv"), None, "/proc/x.csv"),
    Case("export-missing-folder", ("export", "predictions", "-w", "{ws}", "-o", "{tmp}/no/x.csv"), None,
         "does not exist"),
    Case("export-to-directory", ("export", "predictions", "-w", "{ws}", "-o", "{tmp}"), None, "is a directory"),
    Case("export-to-empty-name", ("export", "predictions", "-w", "{ws}", "-o", ""), None, "empty"),
    Case("export-unknown-what", ("export", "models", "-w", "{ws}", "-o", "{tmp}/x.csv"), None, "invalid choice"),
    # -- harmone.toml ---------------------------------------------------------------------------
    Case("config-binary", STATUS, write("harmone.toml", b"\xff\xfe\x00[stream]"), "harmone.toml: not UTF-8"),
    Case("config-not-toml", STATUS, append("harmone.toml", "\n[stream\n"), "not valid TOML"),
    Case("config-unknown-section", STATUS, append("harmone.toml", "\n[nosuch]\nx = 1\n"), "unknown section"),
    Case("config-unknown-key", STATUS, replace_in("harmone.toml", "\ninput_length = 5", "\nwindw = 5"), "windw"),
    Case("config-wrong-type", STATUS, replace_in("harmone.toml", "input_length = 5", 'input_length = "five"'), "must be int"),
    Case("config-window-zero", STATUS, replace_in("harmone.toml", "input_length = 5", "input_length = 0"), "out of range"),
    Case("config-interval-nan", STATUS, replace_in("harmone.toml", "interval_s = 0.15", "interval_s = nan"),
         "finite"),
    Case("config-interval-inf", STATUS, replace_in("harmone.toml", "interval_s = 0.15", "interval_s = inf"),
         "finite"),
    Case("config-train-ratio-above-one", STATUS,
         replace_in("harmone.toml", "train_ratio = 0.1", "train_ratio = 1.5"), "out of range"),
    # -- knowledge/model.csv and stored versions ----------------------------------------------------
    Case("model-csv-binary-status", STATUS, write("knowledge/model.csv", b"\xff\xfe\x00"), "model.csv: not UTF-8"),
    Case("model-csv-binary-infer", INFER, write("knowledge/model.csv", b"\xff\xfe\x00"), "model.csv: not UTF-8"),
    Case("model-csv-unknown-infer", INFER, write("knowledge/model.csv", b"foo\n"), "unknown model 'foo'"),
    Case("model-csv-traversal-infer", INFER, write("knowledge/model.csv", b"../../etc\n"), "unknown model"),
    Case("model-csv-unknown-status", STATUS, write("knowledge/model.csv", b"foo\n"), "foo"),
    Case("model-csv-traversal-status", STATUS, write("knowledge/model.csv", b"../../etc\n"), "etc"),
    Case("model-csv-untrained-infer", INFER, write("knowledge/model.csv", b"lstm\n"), "no trained version"),
    Case("knowledge-db-garbage", STATUS, write("knowledge/knowledge.db", b"not a database" * 100), ""),
    Case("state-position-text", INFER, set_state("stream_position", '"abc"'), "stream_position"),
    Case("state-not-json", INFER, set_state("stream_position", "{oops"), "stream_position"),
    Case("version-params-list", INFER, write(f"{ACTIVE}/params.json", b"[1, 2]"), "params.json"),
    Case("version-scaler-nan", INFER, write(f"{ACTIVE}/scaler.json", b'{"min": NaN, "max": 400.0}'), "scaler"),
    Case("version-model-garbage", INFER, write(f"{ACTIVE}/model.npz", b"garbage"), "version_1: corrupt"),
    Case("version-meta-binary", INFER, write(f"{ACTIVE}/meta.json", b"\xff\xfe"), "meta.json"),
    Case("train-data-binary", ("train", "-w", "{ws}", "--models", "linear"),
         write("data/flow_data_train.csv", b"\xff\xfe"), "not UTF-8"),
    Case("train-unknown-model", ("train", "-w", "{ws}", "--models", "nope"), None, "unknown model kind"),
    # -- numeric options of other commands -------------------------------------------------------
    Case("infer-steps-negative", ("infer", "-w", "{ws}", "--steps", "-1"), None, "--steps"),
    Case("infer-interval-negative", ("infer", "-w", "{ws}", "--steps", "2", "--interval", "-1"), None, "--interval"),
    Case("infer-interval-nan", ("infer", "-w", "{ws}", "--steps", "2", "--interval", "nan"), None, "--interval"),
    Case("infer-time-scale-inf", ("infer", "-w", "{ws}", "--steps", "2", "--time-scale", "inf"), None,
         "--time-scale"),
    Case("run-time-scale-nan", ("run", "-w", "{ws}", "--simulate", "--steps", "5", "--time-scale", "nan"), None,
         "--time-scale"),
    Case("train-seed-negative", ("train", "-w", "{ws}", "--models", "linear", "--seed", "-1"), None, "--seed"),
    Case("experiment-steps-negative", ("experiment", "-w", "{ws}", "--steps", "-5"), None, "--steps"),
    Case("events-last-negative", ("events", "-w", "{ws}", "--last", "-1"), None, "--last"),
    # -- names and links that would lead outside the workspace; damaged stored values -------------
    Case("version-link-outside", INFER, lambda ws, tmp: _version_link_outside(ws, tmp), "outside the workspace"),
    Case("model-csv-absolute-infer", INFER, write("knowledge/model.csv", b"/etc/passwd\n"), "unknown model"),
    Case("model-csv-slash-status", STATUS, write("knowledge/model.csv", b"linear/../svm\n"), "unknown model"),
    Case("state-position-negative", INFER, set_state("stream_position", "-3"), "stream_position"),
    Case("state-position-float", INFER, set_state("stream_position", "12.5"), "stream_position"),
    Case("version-params-string", INFER, write(f"{ACTIVE}/params.json", b'"linear"'), "params.json"),
    Case("version-meta-list", INFER, write(f"{ACTIVE}/meta.json", b"[1]"), "meta.json"),
    Case("version-scaler-min-above-max", INFER, write(f"{ACTIVE}/scaler.json", b'{"min": 5.0, "max": 1.0}'),
         "scaler"),
    Case("config-keep-versions-zero", STATUS, replace_in("harmone.toml", "keep_versions = 50", "keep_versions = 0"),
         "out of range"),
    Case("config-repository-unknown-key", STATUS, replace_in("harmone.toml", "keep_versions = 50", "keep = 5"),
         "keep"),
    Case("config-window-changed-after-training", INFER,
         replace_in("harmone.toml", "input_length = 5", "input_length = 7"), "trained on windows of 5 values"),
    # -- more numeric options ------------------------------------------------------------------------
    Case("infer-steps-fraction", ("infer", "-w", "{ws}", "--steps", "1.5"), None, "--steps"),
    Case("infer-time-scale-zero", ("infer", "-w", "{ws}", "--steps", "2", "--time-scale", "0"), None, "--time-scale"),
    Case("run-steps-zero", ("run", "-w", "{ws}", "--simulate", "--steps", "0"), None, "--steps"),
    Case("run-seed-negative", ("run", "-w", "{ws}", "--simulate", "--steps", "5", "--seed", "-1"), None, "--seed"),
    Case("manage-time-scale-zero", ("manage", "-w", "{ws}", "--time-scale", "0"), None, "--time-scale"),
    Case("manage-seed-text", ("manage", "-w", "{ws}", "--seed", "abc"), None, "--seed"),
    Case("train-seed-text", ("train", "-w", "{ws}", "--models", "linear", "--seed", "x"), None, "--seed"),
    Case("events-last-zero", ("events", "-w", "{ws}", "--last", "0"), None, "--last"),
    Case("experiment-seed-negative", ("experiment", "-w", "{ws}", "--seed", "-2"), None, "--seed"),
    Case("approach-unknown", ("approach", "-w", "{ws}", "nope"), None, "unknown approach"),
    Case("unknown-command", ("frobnicate",), None, "invalid choice"),
    Case("not-a-workspace", ("status", "-w", "{tmp}"), None, "not a HarmonE workspace"),
]

STORED = ("data", "models", "versionedMR", "harmone.toml", "knowledge/model.csv")


def stored_state(ws: Path) -> dict[str, str]:
    """A digest of every stored file (links by their target), keyed by relative path."""
    state: dict[str, str] = {}
    for name in STORED:
        top = ws / name
        paths = [top] if not top.is_dir() or top.is_symlink() else sorted(top.rglob("*"))
        for path in paths:
            key = str(path.relative_to(ws))
            if path.is_symlink():
                state[key] = "link:" + os.readlink(path)
            elif path.is_file():
                state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                state[key] = "dir"
            else:
                state[key] = "absent"
    return state


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from harmone import lifecycle

    root = tmp_path_factory.mktemp("corpus") / "ws"
    workspace = make_workspace(root, n=1500)
    lifecycle.train_initial(workspace, ["linear", "svm"])
    workspace.write_active_model("linear")
    return root


def _params() -> list:
    marks = lambda case: [pytest.mark.xfail(strict=True, reason=case.defect)] if case.defect else []  # noqa: E731
    return [pytest.param(case, id=case.id, marks=marks(case)) for case in CASES]


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 80
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", _params())
def test_bad_input_is_one_line_and_changes_nothing(case: Case, trained: Path, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(trained, ws, symlinks=True)
    scratch = tmp_path / "in"
    scratch.mkdir()
    if case.setup is not None:
        case.setup(ws, scratch)
    before = stored_state(ws)
    argv = [part.replace("{ws}", str(ws)).replace("{tmp}", str(scratch)) for part in case.argv]
    env = {key: value for key, value in os.environ.items() if key not in {"HARMONE_WORKSPACE", "HARMONE_DEBUG"}}
    result = subprocess.run([sys.executable, "-m", "harmone", *argv], cwd=tmp_path, env=env, text=True,
                            capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode != 0, f"accepted (exit 0): {result.stdout[-400:]}"
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("harmone"), lines[0]
    assert case.expect in lines[0]
    assert stored_state(ws) == before

"""The bad-input corpus: every case runs the real `harmone` command in a copy of a trained workspace.

For each case (``corpus_harness.check_refused``): a non-zero exit, exactly one line on
stderr (no traceback, no warning before it), the expected words in it, and every file of the
workspace byte for byte as before, the knowledge base included. Cases that still fail
would be marked ``xfail(strict=True)`` with the defect; none is.

This module holds inputs: data files, ``harmone.toml``, model files, the knowledge base,
``model.csv``, links, names and the options of every command. ``test_bad_outputs.py``
holds output paths, ``test_bad_locks.py`` every command under every lock.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import pytest

from corpus_harness import (Case, Harmone, Setup, append, both, check_refused, delete_state, file, folder, params,
                            remove, replace_in, series, set_state, write)


def _version_link_outside(ws: Path, tmp: Path) -> None:
    """``version_2`` a link to a copy of version 1 outside the workspace, and made active."""
    outside = tmp / "outside"
    shutil.copytree(ws / "versionedMR" / "linear" / "version_1", outside)
    os.symlink(outside, ws / "versionedMR" / "linear" / "version_2")
    link = ws / "models" / "linear"
    link.unlink()
    os.symlink(os.path.join("..", "versionedMR", "linear", "version_2"), link)


def _active_link_to(target: str) -> Setup:
    """``models/linear`` re-pointed at ``target`` ({ws}/{tmp} expanded); ``{tmp}/outside`` holds a copy of version 1."""
    def setup(ws: Path, tmp: Path) -> None:
        shutil.copytree(ws / "versionedMR" / "linear" / "version_1", tmp / "outside" / "version_1")
        link = ws / "models" / "linear"
        link.unlink()
        os.symlink(target.replace("{ws}", str(ws)).replace("{tmp}", str(tmp)), link)
    return setup


def _npz_with_text_member(ws: Path, tmp: Path) -> None:
    with zipfile.ZipFile(ws / "models" / "linear" / "model.npz", "a") as archive:
        archive.writestr("notes.txt", "not an array")


def _truncate(relative: str, keep: int) -> Setup:
    def setup(ws: Path, tmp: Path) -> None:
        path = (ws / relative).resolve()
        path.write_bytes(path.read_bytes()[:keep])
    return setup


def _damage_database(pages: int | None = None) -> Setup:
    """``pages`` pages after the first overwritten (None: all of them): the header opens, tables do not read."""
    def setup(ws: Path, tmp: Path) -> None:
        path = ws / "knowledge" / "knowledge.db"
        data = bytearray(path.read_bytes())
        end = len(data) if pages is None else 4096 * (1 + pages)
        assert len(data) >= end > 4096
        data[4096:end] = b"A" * (end - 4096)
        path.write_bytes(bytes(data))
    return setup


def _stamped(stamps: list[str], name: str = "in.csv", year: int = 2024) -> Setup:
    """A CSV of 200 rows with a ``day`` column: ``stamps`` replace the first ones (daily ISO dates otherwise)."""
    import datetime

    start = datetime.date(year, 1, 1)
    days = [str(start + datetime.timedelta(days=i)) for i in range(200)]
    days[:len(stamps)] = stamps
    return file("day,value\n" + "".join(f"{d},{100 + i % 7}\n" for i, d in enumerate(days)), name)


IMPORT = ("data", "import", "-w", "{ws}", "{tmp}/in.csv")
DRIFT = ("data", "drift", "-w", "{ws}", "--yes")
INFER = ("infer", "-w", "{ws}", "--steps", "2", "--interval", "0", "--quiet")
STATUS = ("status", "-w", "{ws}")
ACTIVE = "models/linear"  # the active version's folder, through its link


CASES: list[Case] = [
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


LINEAR_DEFAULT = replace_in("harmone.toml", 'default_model = "lstm"', 'default_model = "linear"')
RUN = ("run", "-w", "{ws}", "--simulate", "--steps", "5")
MANAGE = ("manage", "-w", "{ws}", "--time-scale", "1000")
EVENTS = ("events", "-w", "{ws}")
EXPORT = ("export", "predictions", "-w", "{ws}", "-o", "{tmp}/out.csv")

CASES += [
    # -- names that arrive as paths: config, options, model.csv (item 4) ---------------------------
    Case("config-default-model-traversal", STATUS,
         replace_in("harmone.toml", 'default_model = "lstm"', 'default_model = "lstm/../../x"'), "not a model kind"),
    Case("config-served-models-traversal", STATUS,
         replace_in("harmone.toml", '"lstm", "svm", "linear", "persistence"]', '"linear", "../x"]'), "not a model kind"),
    Case("config-initial-ema-traversal", STATUS,
         replace_in("harmone.toml", "initial_ema = { lstm = 0.82", 'initial_ema = { "../lstm" = 0.82'),
         "not a model kind"),
    Case("config-models-table-traversal", STATUS, append("harmone.toml", '\n[models."lstm/../x"]\nepochs = 1\n'),
         "unknown model kind"),
    Case("train-models-traversal", ("train", "-w", "{ws}", "--models", "lstm/../../x"), None, "unknown model kind"),
    Case("train-models-absolute", ("train", "-w", "{ws}", "--models", "/tmp/x"), None, "unknown model kind"),
    Case("run-approach-traversal", RUN + ("--approach", "../x"), None, "unknown approach"),
    Case("approach-traversal", ("approach", "-w", "{ws}", "single-linear/../x"), None, "unknown approach"),
    Case("model-csv-dotdot-infer", INFER, write("knowledge/model.csv", b"..\n"), "unknown model"),
    # -- ranges, checked before anything is written (item 5) -----------------------------------------
    Case("infer-interval-1e300", ("infer", "-w", "{ws}", "--steps", "2", "--interval", "1e300"), None, "--interval"),
    Case("infer-time-scale-subnormal", ("infer", "-w", "{ws}", "--steps", "2", "--time-scale", "1e-320"), None,
         "--time-scale"),
    Case("infer-time-scale-1e300", ("infer", "-w", "{ws}", "--steps", "2", "--time-scale", "1e300"), None,
         "--time-scale"),
    Case("run-time-scale-1e9", RUN + ("--time-scale", "1e9"), None, "--time-scale"),
    Case("manage-time-scale-subnormal", ("manage", "-w", "{ws}", "--time-scale", "1e-320"), None, "--time-scale"),
    Case("config-interval-1e300", INFER, replace_in("harmone.toml", "interval_s = 0.15", "interval_s = 1e300"),
         "out of range"),
    Case("config-switch-interval-1e300", STATUS, replace_in("harmone.toml", "interval_s = 40.0", "interval_s = 1e300"),
         "out of range"),
    Case("config-warmup-1e300", STATUS, replace_in("harmone.toml", "warmup_s = 400.0", "warmup_s = 1e300"),
         "out of range"),
    Case("run-seed-2-to-32", RUN + ("--seed", "4294967296"), None, "--seed"),
    Case("train-seed-2-to-32", ("train", "-w", "{ws}", "--models", "linear", "--seed", "4294967296"), None, "--seed"),
    Case("synth-seed-2-to-32", ("data", "synth", "-w", "{ws}", "--seed", "4294967296"), None, "--seed"),
    Case("manage-seed-2-to-32", ("manage", "-w", "{ws}", "--seed", "4294967296"), None, "--seed"),
    Case("experiment-seed-2-to-32", ("experiment", "-w", "{ws}", "--seed", "4294967296"), None, "--seed"),
    Case("matrix-seeds-beyond", ("experiment", "-w", "{ws}", "--seeds", "4294967290-4294967296", "--out",
                                 "{tmp}/m"), None, "largest seed"),
    Case("synth-steps-10-to-12", ("data", "synth", "-w", "{ws}", "--steps", "1000000000000"), None, "--steps"),
    Case("matrix-workers-huge", ("experiment", "-w", "{ws}", "--seeds", "0", "--workers", "1000000000", "--out",
                                 "{tmp}/m"), None, "--workers"),
    Case("infer-truncated-model-without-knowledge-base", INFER,
         both(remove("knowledge/knowledge.db"), _truncate(f"{ACTIVE}/model.npz", 100)), "corrupt"),
    Case("infer-truncated-model", INFER, _truncate(f"{ACTIVE}/model.npz", 100), "corrupt"),
    Case("run-truncated-model", RUN, _truncate(f"{ACTIVE}/model.npz", 100), "corrupt"),
    Case("manage-damaged-switch-state-no-drift-state", MANAGE,
         both(set_state("switch_loop", '{"oops": 1}'), delete_state("drift_loop")), "switch_loop"),
    Case("manage-damaged-drift-state", MANAGE, set_state("drift_loop", '{"next_due_s": "soon"}'), "drift_loop"),
    Case("manage-damaged-clock", MANAGE, set_state("manager_clock", "{oops"), "manager_clock"),
    Case("run-damaged-position", RUN, set_state("stream_position", '"abc"'), "stream_position"),
    Case("infer-end-of-stream", INFER, set_state("stream_position", "99999"), "end of the test stream"),
    # -- wrongly accepted before (item 6) --------------------------------------------------------------
    Case("config-initial-ema-nan", STATUS,
         replace_in("harmone.toml", "initial_ema = { lstm = 0.82", "initial_ema = { lstm = nan"), "finite"),
    Case("config-initial-ema-minus-inf", STATUS,
         replace_in("harmone.toml", "initial_ema = { lstm = 0.82", "initial_ema = { lstm = -inf"), "finite"),
    Case("config-initial-ema-inf", STATUS,
         replace_in("harmone.toml", "svm = 0.79", "svm = inf"), "finite"),
    Case("import-time-duplicated", IMPORT + ("--time-column", "day", "--column", "value"),
         _stamped(["2024-01-01", "2024-01-02", "2024-01-02"]), "repeats"),
    Case("import-time-unsorted", IMPORT + ("--time-column", "day", "--column", "value"),
         _stamped(["2024-01-05", "2024-01-03"]), "is earlier than"),
    Case("import-time-not-a-date", IMPORT + ("--time-column", "day", "--column", "value"),
         _stamped(["2024-01-01", "tuesday"]), "not a time stamp"),
    Case("import-time-counter", IMPORT + ("--time-column", "day", "--column", "value"),
         _stamped(["1", "2", "3"]), "not a time stamp"),
    Case("import-time-blank", IMPORT + ("--time-column", "day", "--column", "value"),
         _stamped(["2024-01-01", ""]), "blank time stamp"),
    Case("import-time-mixed-formats", IMPORT + ("--time-column", "day", "--column", "value"),
         _stamped(["2024-01-01", "01/02/2024"]), "not a time stamp"),
    Case("import-time-second-file-earlier", IMPORT + ("{tmp}/b.csv", "--time-column", "day", "--column", "value"),
         both(_stamped([]), _stamped([], "b.csv", 2025)), "in.csv: line 2, column 'day': time stamp '2024-01-01' is"
                                                           " earlier than '2025-07-19' of"),
    # -- classification: labelled imports and the image stream into this (forecasting) workspace --
    Case("import-label-missing", IMPORT + ("--label", "y"), file("a,b\n1,2\n3,4\n"), "no column 'y'"),
    Case("import-label-one-class", IMPORT + ("--label", "y"), file("a,b,y\n1,2,x\n3,4,x\n"), "only one class"),
    Case("import-label-text-feature", IMPORT + ("--label", "y"), file("a,b,y\n1,2,x\n3,q,z\n"),
         "line 3, column 'b': 'q' is not a number"),
    Case("import-label-with-column", IMPORT + ("--label", "y", "--column", "a"), file("a,y\n1,x\n2,z\n"),
         "--label imports every other numeric column"),
    Case("import-label-into-trained-forecasting", IMPORT + ("--label", "y", "--train-ratio", "0.5"),
         file("a,b,y\n" + "".join(f"{i},{i % 7},{'xz'[i % 2]}\n" for i in range(100))),
         "harmone init --task classification"),
    Case("synth-digits-into-trained-forecasting", ("data", "synth", "-w", "{ws}", "--profile", "digits"), None,
         "harmone init --task classification"),
    Case("import-underscore-number", IMPORT, file(series(bad="1_234")), "'1_234' is not a number"),
    Case("import-arabic-indic-digits", IMPORT, file(series(bad="\u0661\u0662\u0663")), "is not a number"),
    Case("import-fullwidth-digits", IMPORT, file(series(bad="\uff11\uff12")), "is not a number"),
    Case("import-superscript-digit", IMPORT, file(series(bad="\u00b2")), "is not a number"),
    Case("test-file-underscore-number", INFER, replace_in("data/flow_data_test.csv", "\n", "\n1_0\n"),
         "'1_0' is not a number"),
    Case("infer-steps-underscore", ("infer", "-w", "{ws}", "--steps", "1_0"), None, "--steps"),
    Case("infer-steps-arabic-indic", ("infer", "-w", "{ws}", "--steps", "\u0661\u0660"), None, "--steps"),
    Case("drift-region-underscore", DRIFT + ("--region", "1_0:20:1:0"), None, "whole numbers"),
    Case("version-scaler-context-huge", INFER, replace_in(f"{ACTIVE}/scaler.json", '"context": 5', '"context": 99999999'),
         "context"),
    Case("version-scaler-context-not-trained", INFER,
         replace_in(f"{ACTIVE}/scaler.json", '"context": 5', '"context": 6'), "differs"),
    Case("models-link-outside-infer", INFER, _active_link_to("{tmp}/outside/version_1"), "outside"),
    Case("models-link-outside-status", STATUS, _active_link_to("{tmp}/outside/version_1"), "outside"),
    Case("models-link-to-another-kind", INFER, _active_link_to("../versionedMR/svm/version_1"), "versions of linear"),
    Case("models-link-dotdot-outside", INFER, _active_link_to("../versionedMR/../../in/outside/version_1"), "outside"),
    Case("db-directory-status", STATUS, both(remove("knowledge/knowledge.db"), lambda ws, tmp: (
        ws / "knowledge" / "knowledge.db").mkdir()), "not a file"),
    Case("db-directory-events", EVENTS, both(remove("knowledge/knowledge.db"), lambda ws, tmp: (
        ws / "knowledge" / "knowledge.db").mkdir()), "not a file"),
    Case("db-directory-infer", INFER, both(remove("knowledge/knowledge.db"), lambda ws, tmp: (
        ws / "knowledge" / "knowledge.db").mkdir()), "knowledge.db"),
    # -- one clear line (item 7) ------------------------------------------------------------------------
    *[Case(f"default-model-{name}", INFER, both(LINEAR_DEFAULT, setup), expect)
      for name, setup, expect in (
          ("params-list", write(f"{ACTIVE}/params.json", b"[1, 2]"), "params.json"),
          ("npz-garbage", write(f"{ACTIVE}/model.npz", b"garbage"), "corrupt"),
          ("npz-truncated", _truncate(f"{ACTIVE}/model.npz", 100), "corrupt"),
          ("npz-text-member", _npz_with_text_member, "not a .npy array"),
          ("scaler-nan", write(f"{ACTIVE}/scaler.json", b'{"min": NaN, "max": 400.0}'), "scaler"),
          ("scaler-missing", remove(f"{ACTIVE}/scaler.json"), "scaler missing"),
          ("model-missing", remove(f"{ACTIVE}/model.npz"), "model file missing"),
          ("meta-binary", write(f"{ACTIVE}/meta.json", b"\xff\xfe"), "meta.json"),
      )],
    Case("npz-text-member", INFER, _npz_with_text_member, "not a .npy array"),
    Case("drift-region-overflows", DRIFT + ("--region", "0:10:1e308:0"), None, "magnitude"),
    Case("model-csv-folder-status", STATUS, folder("knowledge/model.csv"), "model.csv"),
    Case("model-csv-folder-infer", INFER, folder("knowledge/model.csv"), "model.csv"),
    Case("model-csv-folder-run", RUN, folder("knowledge/model.csv"), "model.csv"),
    Case("drift-without-yes-or-terminal", ("data", "drift", "-w", "{ws}", "--region", "0:10:2:0"), None,
         "not a terminal"),
    Case("reset-without-yes-or-terminal", ("reset", "-w", "{ws}"), None, "not a terminal"),
    Case("db-empty-status", STATUS, write("knowledge/knowledge.db", b""), "empty file"),
    Case("db-empty-events", EVENTS, write("knowledge/knowledge.db", b""), "empty file"),
    Case("db-empty-export", EXPORT, write("knowledge/knowledge.db", b""), "empty file"),
    *[Case(f"db-damaged-{what}-{name}", argv, _damage_database(pages), "damaged")
      for what, pages in (("log", 2), ("all", None))
      for name, argv in (("status", STATUS), ("events", EVENTS), ("export", EXPORT), ("infer", INFER), ("run", RUN),
                         ("manage", MANAGE))],
    Case("db-damaged-approach-list", ("approach", "-w", "{ws}"), _damage_database(), "damaged"),
    Case("stdout-closed-status", STATUS, None, "standard output is closed", close_stdout=True),
    Case("stdout-closed-infer", INFER, None, "standard output is closed", close_stdout=True),
    Case("stdout-closed-export", ("export", "predictions", "-w", "{ws}", "-o", "-"), None,
         "standard output is closed", close_stdout=True),
    Case("config-bom", STATUS, lambda ws, tmp: (ws / "harmone.toml").write_bytes(
        b"\xef\xbb\xbf" + (ws / "harmone.toml").read_bytes()), "byte order mark"),
    Case("config-bom-infer", INFER, lambda ws, tmp: (ws / "harmone.toml").write_bytes(
        b"\xef\xbb\xbf" + (ws / "harmone.toml").read_bytes()), "byte order mark"),
    Case("config-is-a-folder", STATUS, folder("harmone.toml"), "not a HarmonE workspace"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input_is_one_line_and_changes_nothing(case: Case, corpus_trained: Path, tmp_path: Path,
                                                   harmone_cli: Harmone) -> None:
    check_refused(case, corpus_trained, tmp_path, harmone_cli)


#: Cases run again through `python -m harmone`, to show the forked runner behaves like the real one.
SAME_THROUGH_A_NEW_INTERPRETER = ("import-decimal-comma-one-column", "infer-steps-negative", "model-csv-unknown-infer",
                                  "stdout-closed-status", "config-bom", "db-damaged-all-status")


@pytest.mark.parametrize("case_id", SAME_THROUGH_A_NEW_INTERPRETER)
def test_the_forked_runner_answers_like_python_m_harmone(case_id: str, corpus_trained: Path, tmp_path: Path,
                                                        harmone_cli: Harmone) -> None:
    from corpus_harness import expand, prepare

    case = next(c for c in CASES if c.id == case_id)
    ws, scratch = prepare(case, corpus_trained, tmp_path)
    argv = [expand(part, ws, scratch) for part in case.argv]
    forked = harmone_cli.run(argv, tmp_path, close_stdout=case.close_stdout)
    fresh = Harmone.run_process(argv, tmp_path, close_stdout=case.close_stdout)
    assert (forked.returncode, forked.stderr) == (fresh.returncode, fresh.stderr)
    assert forked.stderr.count("\n") == 1

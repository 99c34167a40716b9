"""The bad-input corpus, output paths: every path a command writes to, pointed where it must not write.

Four outputs take a path from the user: ``export -o`` and ``data drift --plot`` (files),
``experiment --out`` and the matrix's ``--out`` (folders). Each is pointed at the
workspace's own state (however spelled: through a link, with ``..``, in another workspace),
at devices, FIFOs and sockets, and at ``-`` where standard output is not offered. Every one
is refused in one line, before any work, and leaves the workspace byte for byte as it was
and the special file what it was (``corpus_harness.check_refused``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_harness import Case, Harmone, Setup, both, check_refused, device, fifo, link, other_workspace, params, \
    unix_socket

#: The file outputs, by name: argv with the path last.
FILE_OUTPUTS = {
    "export": ("export", "predictions", "-w", "{ws}", "-o"),
    "plot": ("data", "drift", "-w", "{ws}", "--yes", "--region", "0:10:2:0", "--plot"),
}
#: The folder outputs.
DIR_OUTPUTS = {
    "experiment": ("experiment", "-w", "{ws}", "--approaches", "single-linear", "--steps", "5", "--out"),
    "matrix": ("experiment", "-w", "{ws}", "--approaches", "single-linear", "--steps", "5", "--seeds", "0", "--out"),
}

STATE = "inside the workspace's own state"
# (name, path, setup, expected words, paths whose file type must stay)
FILE_TARGETS: list[tuple[str, str, Setup | None, str, tuple[str, ...]]] = [
    ("knowledge-db", "{ws}/knowledge/knowledge.db", None, STATE, ()),
    ("model-csv", "{ws}/knowledge/model.csv", None, STATE, ()),
    ("new-file-in-knowledge", "{ws}/knowledge/log.csv", None, STATE, ()),
    ("test-data", "{ws}/data/flow_data_test.csv", None, STATE, ()),
    ("train-data", "{ws}/data/flow_data_train.csv", None, STATE, ()),
    ("config", "{ws}/harmone.toml", None, STATE, ()),
    ("model-through-active-link", "{ws}/models/linear/model.npz", None, STATE, ()),
    ("version-meta", "{ws}/versionedMR/svm/version_1/meta.json", None, STATE, ()),
    ("dotdot-into-knowledge", "{ws}/experiment/../knowledge/knowledge.db", None, STATE, ()),
    ("link-to-knowledge-db", "{tmp}/db-link", link("db-link", "{ws}/knowledge/knowledge.db"), STATE, ()),
    ("through-linked-folder", "{tmp}/state/knowledge.db", link("state", "{ws}/knowledge"), STATE, ()),
    ("other-workspace-db", "{tmp}/other/knowledge/knowledge.db", other_workspace, STATE, ()),
    ("null-device", "{tmp}/null", device("null", 1, 3), "character device", ("{tmp}/null",)),
    ("full-device", "{tmp}/full", device("full", 1, 7), "character device", ("{tmp}/full",)),
    ("link-to-device", "{tmp}/to-null", both(device("null", 1, 3), link("to-null", "{tmp}/null")),
     "character device", ("{tmp}/null",)),
    ("fifo", "{tmp}/pipe", fifo("pipe"), "FIFO", ("{tmp}/pipe",)),
    ("socket", "{tmp}/sock", unix_socket("sock"), "socket", ("{tmp}/sock",)),
]
DIR_TARGETS: list[tuple[str, str, Setup | None, str, tuple[str, ...]]] = [
    ("knowledge", "{ws}/knowledge", None, STATE, ()),
    ("models", "{ws}/models", None, STATE, ()),
    ("versions", "{ws}/versionedMR", None, STATE, ()),
    ("kind-versions", "{ws}/versionedMR/linear", None, STATE, ()),
    ("data", "{ws}/data", None, STATE, ()),
    ("new-folder-in-data", "{ws}/data/results", None, STATE, ()),
    ("config-file", "{ws}/harmone.toml", None, STATE, ()),
    ("dotdot-into-models", "{ws}/experiment/../models", None, STATE, ()),
    ("link-to-knowledge", "{tmp}/k", link("k", "{ws}/knowledge"), STATE, ()),
    ("other-workspace-knowledge", "{tmp}/other/knowledge", other_workspace, STATE, ()),
    ("null-device", "{tmp}/null", device("null", 1, 3), "not a directory", ("{tmp}/null",)),
    ("fifo", "{tmp}/pipe", fifo("pipe"), "not a directory", ("{tmp}/pipe",)),
    ("a-file", "{tmp}/results.txt", lambda ws, tmp: (tmp / "results.txt").write_text("keep\n"), "not a directory",
     ("{tmp}/results.txt",)),
    ("stdout", "-", None, "'-' (standard output) is not accepted", ()),
]

CASES: list[Case] = [
    *[Case(f"{output}-to-{name}", argv + (path,), setup, expect, kept=kept)
      for output, argv in FILE_OUTPUTS.items() for name, path, setup, expect, kept in FILE_TARGETS],
    *[Case(f"{output}-to-{name}", argv + (path,), setup, expect, kept=kept)
      for output, argv in DIR_OUTPUTS.items() for name, path, setup, expect, kept in DIR_TARGETS],
    Case("plot-to-stdout", FILE_OUTPUTS["plot"] + ("-",), None, "'-' (standard output) is not accepted"),
    Case("export-to-proc", FILE_OUTPUTS["export"] + ("/proc/x.csv",), None, "/proc/x.csv"),
    Case("export-to-missing-folder", FILE_OUTPUTS["export"] + ("{tmp}/no/x.csv",), None, "does not exist"),
    Case("export-to-directory", FILE_OUTPUTS["export"] + ("{tmp}",), None, "is a directory"),
    Case("export-to-empty-name", FILE_OUTPUTS["export"] + ("",), None, "empty"),
    Case("plot-in-proc", FILE_OUTPUTS["plot"] + ("/proc/x.png",), None, "/proc/x.png"),
    Case("plot-missing-folder", FILE_OUTPUTS["plot"] + ("{tmp}/no/x.png",), None, "does not exist"),
    Case("plot-is-directory", FILE_OUTPUTS["plot"] + ("{tmp}",), None, "is a directory"),
    Case("experiment-in-proc", DIR_OUTPUTS["experiment"] + ("/proc/results",), None, "/proc/results"),
    Case("matrix-in-proc", DIR_OUTPUTS["matrix"] + ("/proc/results",), None, "/proc/results"),
]


@pytest.mark.parametrize("case", params(CASES))
def test_an_output_where_it_must_not_write_is_refused(case: Case, corpus_trained: Path, tmp_path: Path,
                                                      harmone_cli: Harmone) -> None:
    check_refused(case, corpus_trained, tmp_path, harmone_cli)


def test_standard_output_and_plain_files_still_work(corpus_trained: Path, tmp_path: Path,
                                                    harmone_cli: Harmone) -> None:
    """The refusals are not all there is: ``-o -``, a new file and a file replaced whole are written."""
    from corpus_harness import prepare

    ws, scratch = prepare(Case("ok", ()), corpus_trained, tmp_path)
    result = harmone_cli.run(["export", "predictions", "-w", str(ws), "-o", "-"], tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("true_value,")
    assert len(result.stdout.splitlines()) == 301  # the header and the 300 logged predictions
    (scratch / "old.csv").write_text("old\n")
    for name in ("new.csv", "old.csv"):
        written = harmone_cli.run(["export", "predictions", "-w", str(ws), "-o", str(scratch / name)], tmp_path)
        assert written.returncode == 0 and written.stdout == f"Wrote 300 predictions to {scratch / name}\n"
        assert (scratch / name).read_text() == result.stdout
    assert sorted(p.name for p in scratch.iterdir()) == ["new.csv", "old.csv"]

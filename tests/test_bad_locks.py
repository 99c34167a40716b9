"""The bad-input corpus, locks: every command that writes, started while another process holds a lock.

A workspace has two locks (``harmone.lock``): ``infer`` holds the inference lock, ``manage``
the manager lock, ``run`` both. Each writing command is started while another process
holds each lock it needs (the inference lock, the manager lock, both), and must refuse in
one line naming the holder before its first write: the knowledge base (stream position,
loop state, events), ``model.csv``, the data, the models and the config byte for byte as
they were (``corpus_harness.check_refused``). The commands that need no lock held by the
holder run (``infer`` beside ``manage``) and are not cases here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_harness import BOTH, INFERENCE, MANAGER, Case, Harmone, check_refused, file, params, series

EVERY_LOCK = {"inference": (INFERENCE,), "manager": (MANAGER,), "both": BOTH}

#: Each writing command: argv, the locks it needs, a setup.
COMMANDS = {
    "infer": (("infer", "-w", "{ws}", "--steps", "5", "--interval", "0", "--quiet"), (INFERENCE,), None),
    "infer-from-start": (("infer", "-w", "{ws}", "--steps", "5", "--interval", "0", "--from-start"), (INFERENCE,),
                         None),
    "manage": (("manage", "-w", "{ws}", "--time-scale", "1000"), (MANAGER,), None),
    "manage-seeded": (("manage", "-w", "{ws}", "--seed", "3"), (MANAGER,), None),
    "run-single": (("run", "-w", "{ws}", "--simulate", "--steps", "10", "--approach", "single-linear"), BOTH, None),
    "run-workspace-approach": (("run", "-w", "{ws}", "--simulate", "--steps", "10"), BOTH, None),
    "run-switch": (("run", "-w", "{ws}", "--simulate", "--steps", "10", "--approach", "switch", "--seed", "4"), BOTH,
                   None),
    "run-live": (("run", "-w", "{ws}", "--steps", "3", "--time-scale", "1000", "--quiet"), BOTH, None),
    "train": (("train", "-w", "{ws}", "--models", "linear"), BOTH, None),
    "reset": (("reset", "-w", "{ws}", "--yes"), BOTH, None),
    "import": (("data", "import", "-w", "{ws}", "{tmp}/in.csv"), BOTH, file(series())),
    "synth": (("data", "synth", "-w", "{ws}", "--steps", "3000"), BOTH, None),
    "drift": (("data", "drift", "-w", "{ws}", "--yes", "--region", "0:50:2:0"), BOTH, None),
    "drift-with-plot": (("data", "drift", "-w", "{ws}", "--yes", "--region", "0:50:2:0", "--plot", "{tmp}/d.png"),
                        BOTH, None),
    "energy-calibrate": (("energy", "calibrate", "-w", "{ws}"), BOTH, None),
    "demo": (("demo", "--dir", "{ws}", "--steps", "5", "--approaches", "single-linear"), BOTH, None),
    "approach-fixed": (("approach", "-w", "{ws}", "single-svm"), (MANAGER,), None),
    "approach-adaptive": (("approach", "-w", "{ws}", "switch"), (MANAGER,), None),
}

CASES: list[Case] = [
    Case(f"{command}-under-{held}", argv, setup, "refused", locks=locks)
    for command, (argv, needs, setup) in COMMANDS.items()
    for held, locks in EVERY_LOCK.items()
    if set(locks) & set(needs)
]


@pytest.mark.parametrize("case", params(CASES))
def test_a_command_refused_by_a_lock_changes_nothing(case: Case, corpus_trained: Path, tmp_path: Path,
                                                     harmone_cli: Harmone) -> None:
    check_refused(case, corpus_trained, tmp_path, harmone_cli)


def test_the_refusal_names_the_holder(corpus_trained: Path, tmp_path: Path, harmone_cli: Harmone) -> None:
    from corpus_harness import holding, prepare

    ws, _ = prepare(Case("run", ()), corpus_trained, tmp_path)
    with holding(ws / "knowledge", (MANAGER,)):
        result = harmone_cli.run(["run", "-w", str(ws), "--simulate", "--steps", "10"], tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"harmone: error: {ws}: harmone run refused: `harmone ")
    assert result.stderr.rstrip().endswith("is running the managing system on this workspace (stop it first)")


def test_commands_that_need_no_held_lock_still_run(corpus_trained: Path, tmp_path: Path,
                                                   harmone_cli: Harmone) -> None:
    """`infer` beside a running `manage` is how a deployment runs; the locks must not stop it."""
    from corpus_harness import holding, prepare

    ws, _ = prepare(Case("infer", ()), corpus_trained, tmp_path)
    with holding(ws / "knowledge", (MANAGER,)):
        result = harmone_cli.run(["infer", "-w", str(ws), "--steps", "5", "--interval", "0", "--quiet"], tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("5 predictions stored"), result.stderr

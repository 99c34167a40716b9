"""Fault injection: SIGKILL a `harmone` command at a seeded random moment, continue, check the workspace.

One ``inject`` run copies a trained template workspace, starts one command as a child
process, kills it with SIGKILL after a random delay drawn from the seed (``manage`` with an
even seed: that delay after its retraining child started; ``child``: kills the retraining
child of a running `harmone manage` instead), runs the command that should continue the
work, and checks what an operator relies on:

- the knowledge base passes ``PRAGMA integrity_check``;
- every stored version loads, every active link points at one, the data files read;
- the stream is intact: the rows of the current stream episode hold exactly the test
  values of positions ``input_length .. stream_position`` (none missing, none twice);
- every promoted retrained version has its event, and no ``knowledge/.retrain-*`` is left
  once a manager ran again;
- the continuing command exits 0.

Used by tests/test_fault_injection.py (a quick subset) and benchmarks/bench_faults.py.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"
#: The commands killed, by scenario name.
SCENARIOS = ("train", "infer", "manage", "child", "import", "drift", "run", "reset")
#: Longest delay before the kill, seconds (about the command's running time on a small workspace).
MAX_DELAY_S = {"train": 2.5, "infer": 2.0, "manage": 2.0, "child": 0.0, "import": 1.2, "drift": 1.2,
               "run": 2.5, "reset": 1.0}
#: A manager's retrain period (stream seconds) and time scale: one retraining within a second.
RETRAIN_INTERVAL_S = 20.0
TIME_SCALE = 40.0
#: Rows logged in the template, so the retrain loop has values to train on.
TEMPLATE_ROWS = 300


@dataclass
class Injection:
    scenario: str
    seed: int
    delay_s: float
    #: True when the command was still running at the kill (else it had finished: no fault).
    killed: bool
    #: A manager was killed while its retraining child ran.
    during_retraining: bool = False
    continued: bool = False
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"scenario": self.scenario, "seed": self.seed, "delay_s": round(self.delay_s, 3),
                "killed": self.killed, "during_retraining": self.during_retraining, "continued": self.continued, "problems": self.problems}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"HARMONE_WORKSPACE", "HARMONE_DEBUG"}}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "harmone", *args]


def _series(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return np.clip(200 + 150 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 15, n), 0, None)


def make_template(root: Path) -> Path:
    """A small trained workspace (linear and svm) with some logged predictions, and a CSV to import."""
    from harmone import lifecycle
    from harmone.runner import run_inference
    from harmone.workspace import Workspace

    workspace, _ = Workspace.init(root / "template")
    text = workspace.config_path.read_text(encoding="utf-8")
    retrain = text.index("[retrain]")
    head, tail = text[:retrain], text[retrain:]
    tail = tail.replace("interval_s = 500.0", f"interval_s = {RETRAIN_INTERVAL_S}", 1)
    tail = tail.replace("training_values = 1500", "training_values = 200", 1)
    workspace.config_path.write_text(head.replace("epochs = 50", "epochs = 2") + tail, encoding="utf-8")
    workspace = Workspace.open(workspace.root)
    lifecycle.use_series(workspace, _series(2400, 0), train_ratio=0.4)
    lifecycle.train_initial(workspace, ["linear", "svm"])
    workspace.write_active_model("linear")
    run_inference(workspace, steps=TEMPLATE_ROWS)
    series = _series(2400, 1)
    (root / "import.csv").write_text("value\n" + "".join(f"{v!r}\n" for v in series.tolist()), encoding="utf-8")
    return workspace.root


def _command(scenario: str, ws: Path, import_csv: Path) -> list[str]:
    w = ("-w", str(ws))
    return {
        "train": _argv("train", *w, "--models", "linear,svm"),
        # 900 of the 1135 positions left: the continuing `infer` always has a stream to continue.
        "infer": _argv("infer", *w, "--steps", "900", "--interval", "0.002", "--quiet"),
        "manage": _argv("manage", *w, "--time-scale", str(TIME_SCALE)),
        "child": _argv("manage", *w, "--time-scale", str(TIME_SCALE)),
        "import": _argv("data", "import", *w, str(import_csv)),
        "drift": _argv("data", "drift", *w, "--region", "0:400:1.5:10", "--yes"),
        "run": _argv("run", *w, "--simulate", "--quiet", "--approach", "single-linear+retrain"),
        "reset": _argv("reset", *w, "--yes"),
    }[scenario]


def _continue(scenario: str, ws: Path, import_csv: Path) -> list[str]:
    if scenario in {"manage", "child"}:
        return _argv("manage", "-w", str(ws), "--time-scale", str(TIME_SCALE))
    if scenario == "infer":
        return _argv("infer", "-w", str(ws), "--steps", "100", "--interval", "0", "--quiet")
    if scenario == "train":
        return _argv("train", "-w", str(ws), "--models", "linear")
    if scenario == "run":
        return _argv("run", "-w", str(ws), "--simulate", "--quiet", "--steps", "200",
                     "--approach", "single-linear+retrain")
    return _command(scenario, ws, import_csv)


def _set_approach(ws: Path, name: str) -> None:
    subprocess.run(_argv("approach", "-w", str(ws), name), env=_env(), check=True, capture_output=True)


def duration(template: Path, scenario: str, work: Path) -> float:
    """Seconds one uninterrupted run of the scenario's command takes here and now."""
    ws = work / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(template, ws, symlinks=True)
    started = time.perf_counter()
    subprocess.run(_command(scenario, ws, template.parent / "import.csv"), env=_env(), stdin=subprocess.DEVNULL,
                   capture_output=True, timeout=300)
    return time.perf_counter() - started


def inject(template: Path, scenario: str, seed: int, work: Path, max_delay_s: float | None = None) -> Injection:
    """Kill one command of ``scenario`` at a moment drawn from ``seed``; continue; check.

    The delay is drawn from [0, ``max_delay_s``) (default ``MAX_DELAY_S``; a benchmark
    passes the measured ``duration`` so that load on the machine does not make the kill
    miss); a manager with an even seed is killed at most 0.6 s after its child started.
    """
    ws = work / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(template, ws, symlinks=True)
    import_csv = template.parent / "import.csv"
    if scenario in {"manage", "child"}:
        _set_approach(ws, "single-linear+retrain")
    rng = random.Random(f"{scenario}-{seed}")
    wait_for_child = scenario == "manage" and seed % 2 == 0
    longest = 0.6 if wait_for_child else MAX_DELAY_S[scenario] if max_delay_s is None else max_delay_s
    delay = rng.uniform(0.0, longest)
    process = subprocess.Popen(_command(scenario, ws, import_csv), env=_env(), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        retraining = False
        if scenario == "child":
            killed = retraining = _kill_retraining_child(ws, rng)
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=60)
        else:
            if wait_for_child:  # at a moment of the child's life
                _wait_for_retraining(ws)
            time.sleep(delay)
            killed = process.poll() is None
            retraining = any((ws / "knowledge").glob(".retrain-*/pid"))
            process.kill()
            process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    injection = Injection(scenario, seed, delay, killed, during_retraining=retraining)
    injection.continued = _run_continuation(_continue(scenario, ws, import_csv), scenario, injection.problems)
    injection.problems += check(ws, exact_positions=scenario != "run", data_changed=scenario in {"import", "drift"},
                                after_manager=scenario in {"manage", "child"})
    return injection


def _wait_for_retraining(ws: Path, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not any((ws / "knowledge").glob(".retrain-*/pid")):
        time.sleep(0.01)


def _kill_retraining_child(ws: Path, rng: random.Random, timeout_s: float = 20.0) -> bool:
    """SIGKILL the retraining child of the running manager, at a random moment of its life."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for pid_file in (ws / "knowledge").glob(".retrain-*/pid"):
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            time.sleep(rng.uniform(0.0, 0.6))
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return False
            return True
        time.sleep(0.01)
    return False


def _run_continuation(argv: list[str], scenario: str, problems: list[str]) -> bool:
    if scenario in {"manage", "child"}:  # a manager runs until stopped: once it runs, a moment, then SIGTERM
        process = subprocess.Popen(argv, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        assert process.stdout is not None
        for line in process.stdout:  # the banner: signals now stop it cleanly
            if line.startswith("Managing"):
                break
        time.sleep(1.0)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
        code = process.returncode
    else:
        done = subprocess.run(argv, env=_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=120)
        code, err = done.returncode, done.stderr
    if code != 0:
        problems.append(f"the next command failed (exit {code}): {err.strip()[-300:]}")
    return code == 0


def check(ws: Path, *, exact_positions: bool = True, data_changed: bool = False,
          after_manager: bool = False) -> list[str]:
    """Everything that must hold in a workspace after any kill; the problems found.

    ``data_changed``: the test stream was replaced on purpose (import, drift), so logged rows
    are compared by count only; ``exact_positions``: no earlier episode precedes (not `run`).
    """
    problems: list[str] = []
    db_path = ws / "knowledge" / "knowledge.db"
    if db_path.exists():
        db = sqlite3.connect(db_path)
        try:
            verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            db.close()
        if verdict != "ok":
            problems.append(f"integrity_check: {verdict}")
            return problems
    problems += _check_versions(ws)
    problems += _check_stream(ws, exact=exact_positions, compare_values=not data_changed)
    problems += _check_promotions(ws)
    if after_manager and list((ws / "knowledge").glob(".retrain-*")):
        problems.append("a retraining scratch directory was left behind")
    return problems


def _check_versions(ws: Path) -> list[str]:
    from harmone.errors import HarmonEError
    from harmone.repository import ModelRepository
    from harmone.workspace import Workspace

    problems = []
    repository = ModelRepository(Workspace(ws))
    for kind_dir in sorted((ws / "versionedMR").glob("*")):
        for version in repository.versions(kind_dir.name):
            try:
                repository.load(kind_dir.name, version)
            except HarmonEError as exc:
                problems.append(f"version does not load: {exc}")
    for link in sorted((ws / "models").glob("*")):
        if link.is_symlink() and not link.exists():
            problems.append(f"{link.name}: active link points at nothing")
    return problems


def _check_stream(ws: Path, *, exact: bool, compare_values: bool) -> list[str]:
    from harmone.data.series import read_series
    from harmone.errors import HarmonEError
    from harmone.knowledge import KnowledgeStore
    from harmone.workspace import Workspace

    workspace = Workspace(ws)
    try:
        test = read_series(workspace.test_path)
        read_series(workspace.train_path)
    except HarmonEError as exc:
        return [f"data file unreadable: {exc}"]
    if not workspace.db_path.exists():
        return []
    window = workspace.config.stream.input_length
    with KnowledgeStore.open_readonly(workspace.db_path) as store:
        position = store.get_state("stream_position")
        count = store.count_predictions()
        if position is None:
            return [] if count == 0 or not exact else [f"{count} rows logged but no stream position"]
        episode = position - window
        rows = store.latest_predictions(max(episode, 0))
    if exact and count != episode:
        return [f"{count} rows logged for stream position {position} ({episode} expected)"]
    if not compare_values:
        return []
    if len(rows) != episode or not np.array_equal(rows.true_value, np.asarray(test[window:position])):
        return [f"the logged rows do not match positions {window}..{position} of the test stream"]
    return []


def _check_promotions(ws: Path) -> list[str]:
    from harmone.knowledge import KnowledgeStore
    from harmone.repository import ModelRepository
    from harmone.workspace import Workspace

    workspace = Workspace(ws)
    repository = ModelRepository(workspace)
    recorded: set[tuple[str, int]] = set()
    if workspace.db_path.exists():
        with KnowledgeStore.open_readonly(workspace.db_path) as store:
            for event in store.events():
                version = event.observed.get("new_version")
                if event.model is not None and isinstance(version, int):
                    recorded.add((event.model, version))
    problems = []
    for link in sorted((ws / "models").glob("*")):
        version = repository.active_version(link.name)
        if version is None:
            continue
        reason = repository.meta(link.name, version).get("reason")
        if reason in {"drift", "periodic"} and (link.name, version) not in recorded:
            problems.append(f"{link.name} version {version} serves without an event recording its promotion")
    return problems

"""What the managing system keeps in the knowledge base, and the operations on it as a whole.

The state keys are named in ``harmone.knowledge.keys``; each loop writes its whole key in
one transaction, so a reader (``harmone status``, a restarted manager) sees the state
before a run or after it, never half of it.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from harmone import lock
from harmone.approaches import Approach, get_approach
from harmone.errors import WorkspaceError
from harmone.knowledge import KnowledgeStore, keys
from harmone.repository import ModelRepository
from harmone.workspace import RETRAIN_SCRATCH_PREFIX, Workspace

APPROACH_KEY = keys.APPROACH
CLOCK_KEY = keys.MANAGER_CLOCK

#: The approach of a workspace that never chose one.
DEFAULT_APPROACH = "harmone"


def read_approach(store: KnowledgeStore) -> Approach:
    """The workspace's approach; a stored name that is no longer valid is an error naming it."""
    name = store.get_state(APPROACH_KEY, DEFAULT_APPROACH)
    if not isinstance(name, str):
        raise WorkspaceError(f"knowledge state {APPROACH_KEY!r}: expected an approach name, found {name!r}")
    return get_approach(name)


def workspace_approach(workspace: Workspace) -> Approach:
    """The workspace's approach, read without creating or writing the knowledge base."""
    if not workspace.db_path.exists():
        return get_approach(DEFAULT_APPROACH)
    with KnowledgeStore.open_readonly(workspace.db_path) as store:
        return read_approach(store)


def set_approach(workspace: Workspace, name: str) -> Approach:
    """Persist the approach; a single-model approach also names its model in ``model.csv``.

    Under the manager lock: a running `harmone manage` or `run` keeps the approach it
    started with, so changing it under them is refused rather than half applied.
    """
    approach = get_approach(name)
    with lock.hold(workspace.knowledge_dir, [lock.MANAGER], "changing the approach"):
        with KnowledgeStore(workspace.db_path) as store:
            store.set_state({APPROACH_KEY: approach.name})
        if approach.fixed_model is not None:
            workspace.write_active_model(approach.fixed_model)
    return approach


def choose_model(workspace: Workspace, approach: Approach, initial_model: str | None = None) -> str:
    """The model ``model.csv`` should name for ``approach``; checks everything, writes nothing.

    A single-model approach pins its model (which must be trained). An adaptive one starts
    from ``initial_model`` when given (it must be trained), else keeps the current model when
    it is trained, else starts from the configured default model, else from the first
    trained kind.
    """
    trained = ModelRepository(workspace).trained_kinds()
    approach.check_models(trained)
    if not trained:
        raise WorkspaceError(f"{workspace.models_dir}: no trained model (run `harmone train`)")
    if approach.fixed_model is not None:
        return approach.fixed_model
    if initial_model is not None:
        if initial_model not in trained:
            raise WorkspaceError(f"initial model {initial_model!r} has no trained version (run `harmone train`)")
        return initial_model
    current = workspace.read_active_model()
    default = workspace.config.stream.default_model
    return current if current in trained else default if default in trained else trained[0]


def use_model(workspace: Workspace, model: str) -> None:
    """Make ``model.csv`` name ``model`` (written only when it names another)."""
    if workspace.read_active_model() != model:
        workspace.write_active_model(model)


def prepare_models(workspace: Workspace, approach: Approach) -> str:
    """Make ``model.csv`` name a model the approach can serve (``choose_model``), and return that model."""
    chosen = choose_model(workspace, approach)
    use_model(workspace, chosen)
    return chosen


def clear_loop_state(store: KnowledgeStore) -> None:
    """Forget loop state and schedules: the next loops start from the configured defaults."""
    store.delete_state(keys.LOOP_STATE_KEYS)


@dataclass(frozen=True)
class ResetReport:
    versions: int
    predictions: int
    events: int
    #: The model ``model.csv`` names now: the approach's fixed model, else None (no file, so
    #: the next ``harmone train`` picks the default).
    active_model: str | None


def reset(workspace: Workspace) -> ResetReport:
    """Back to a freshly initialised deployment, keeping configuration, data and approach.

    Removes the active models and every stored version, the prediction log, the events and
    all loop state (the loops restart from the configured defaults); the stream restarts
    at its beginning. ``model.csv`` names the approach's fixed model; for an adaptive
    approach it is removed, so the next first training picks the model to start with.

    Refuses while `harmone infer`, `manage` or `run` hold the workspace. The knowledge base
    is cleared first, in one transaction (a locked database fails here, with nothing
    removed); models go last. A failure at any later point leaves a workspace whose log is
    empty and whose models still load: running reset again finishes the job.
    """
    with lock.exclusive(workspace.knowledge_dir, "harmone reset"):
        repository = ModelRepository(workspace)
        versions = 0
        if workspace.versions_dir.is_dir():
            versions = sum(len(repository.versions(entry.name)) for entry in workspace.versions_dir.iterdir()
                           if entry.is_dir())
        with KnowledgeStore(workspace.db_path) as store:
            approach = read_approach(store)
            predictions, events = store.clear(keep={APPROACH_KEY: approach.name})
        for scratch in workspace.knowledge_dir.glob(RETRAIN_SCRATCH_PREFIX + "*"):
            shutil.rmtree(scratch, ignore_errors=True)
        active = approach.fixed_model
        if active is not None:
            workspace.write_active_model(active)
        else:
            workspace.model_switch_path.unlink(missing_ok=True)
        repository.clear()
    return ResetReport(versions=versions, predictions=predictions, events=events, active_model=active)

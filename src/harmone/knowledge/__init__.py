"""The knowledge base: predictions, typed loop events and loop state, in SQLite.

``store`` holds all SQL, ``codec`` all JSON encoding, ``events`` and ``loop_state`` the
typed values, ``keys`` the names of the stored state.
"""

from harmone.knowledge.events import Action, Decision, Event, EventCounts, LoopName, Outcome, Retraining, count_events
from harmone.knowledge.loop_state import (
    DriftLoopState,
    LoopState,
    RetrainLoopState,
    RunCounts,
    SwitchLoopState,
    SwitchState,
)
from harmone.knowledge.store import (
    EXPORT_COLUMNS,
    SCHEMA_VERSION,
    EnergySplit,
    KnowledgeStore,
    PredictionRow,
    Predictions,
)

__all__ = ["Action", "Decision", "DriftLoopState", "EXPORT_COLUMNS", "EnergySplit", "Event", "EventCounts", "KnowledgeStore",
           "LoopName", "LoopState", "Outcome", "PredictionRow", "Predictions", "RetrainLoopState", "RunCounts",
           "Retraining", "SCHEMA_VERSION", "SwitchLoopState", "SwitchState", "count_events"]

"""Every key of the knowledge base's ``state`` table, named once (the stored names never change).

``approach``         the approach the workspace runs (default ``harmone``)
``switch_loop``      switch loop: ``SwitchLoopState``
``drift_loop``       drift loop: ``DriftLoopState``
``retrain_loop``     periodic retraining: ``RetrainLoopState``
``manager_clock``    where the live manager's clock stood (clock and Unix seconds), so a
                     restarted ``harmone manage`` continues the same schedule
``stream_position``  the next stream index the inference engine predicts
``meter``            the energy meter that measured the logged predictions
"""

from __future__ import annotations

from harmone.knowledge.events import LoopName

APPROACH = "approach"
SWITCH_LOOP = "switch_loop"
DRIFT_LOOP = "drift_loop"
RETRAIN_LOOP = "retrain_loop"
MANAGER_CLOCK = "manager_clock"
STREAM_POSITION = "stream_position"
METER = "meter"

#: The state key of each loop.
LOOP_KEYS: dict[LoopName, str] = {LoopName.SWITCH: SWITCH_LOOP, LoopName.DRIFT: DRIFT_LOOP,
                                  LoopName.RETRAIN: RETRAIN_LOOP}
#: Every key that belongs to the managing system's loops (not the approach, a user setting).
LOOP_STATE_KEYS: tuple[str, ...] = (*LOOP_KEYS.values(), MANAGER_CLOCK)

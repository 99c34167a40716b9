"""The managing system: MAPE-K loops over the knowledge base, one concept per module.

Pure decisions (no I/O):
``snapshot``, ``monitor``, ``analyse``, ``plan``  the switch loop's snapshot and Monitor/Analyse/Plan
``drift``       drift decisions over typed snapshots: detection verdict, answering model, reuse or retrain
``reuse``       choosing a stored version to reuse (KL of its training sample to the drift data)
``periodic``    periodic retraining's plan
``evaluation``  one ``evaluate(model, data)`` and the one promotion rule
``detection``   the drift detector the drift loop feeds, built from config in one place

Effects:
``loop_base``   schedule, typed state, retraining jobs and event recording shared by the loops
``switch_loop``, ``drift_loop``, ``retrain_loop``  the three loops
``execute``     switching, reuse and retraining (in-process or in a child process)
``manager``     runs due loops; the live boundary where any failure becomes an error event
``state``       the approach, reset and other whole-workspace operations on knowledge
"""

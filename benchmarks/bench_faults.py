"""Fault injection at scale: at least 100 SIGKILLs of running commands, every one checked.

Each scenario (train, infer, manage, the retraining child, import, drift, run, reset) is
killed at seeded random moments (drawn within the command's measured running time) until every scenario has ``KILLS_PER_SCENARIO`` kills that
hit the command while it ran (a command that had already finished does not count). After
each kill the continuing command runs and ``benchmarks.faults.check`` inspects the
workspace. Results: benchmarks/results/faults.json; docs/reliability.md quotes them.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from benchmarks import faults

#: Kills per scenario that hit a running command (8 scenarios: 104 in all).
KILLS_PER_SCENARIO = 13
#: Give up on a scenario after this many attempts (a command that always finishes first).
MAX_ATTEMPTS = 40


def run() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="harmone-faults-") as tmp:
        root = Path(tmp)
        template = faults.make_template(root)
        injections: list[faults.Injection] = []
        durations: dict[str, float] = {}
        for scenario in faults.SCENARIOS:
            hits, seed = 0, 0
            if scenario not in {"manage", "child"}:  # those run until killed
                durations[scenario] = round(faults.duration(template, scenario, root / "work"), 2)
            while hits < KILLS_PER_SCENARIO and seed < MAX_ATTEMPTS:
                injection = faults.inject(template, scenario, seed, root / "work", durations.get(scenario))
                injections.append(injection)
                hits += injection.killed
                seed += 1
                if injection.problems:
                    print(f"  {scenario} seed {injection.seed}: {injection.problems}", flush=True)
            print(f"  {scenario}: {hits} kills in {seed} attempts", flush=True)
    killed = [i for i in injections if i.killed]
    problems = Counter(p.split(":")[0] for i in injections for p in i.problems)
    return {
        "kills": len(killed),
        "attempts": len(injections),
        "command_durations_s": durations,
        "kills_per_scenario": dict(Counter(i.scenario for i in killed)),
        "manager_kills_during_retraining": sum(1 for i in killed if i.scenario == "manage" and i.during_retraining),
        "retraining_child_kills": sum(1 for i in killed if i.scenario == "child"),
        "corrupt_databases": sum(1 for i in injections for p in i.problems if p.startswith("integrity_check")),
        "unloadable_versions": sum(1 for i in injections for p in i.problems if "does not load" in p
                                   or "points at nothing" in p),
        "position_errors": sum(1 for i in injections for p in i.problems if "rows" in p or "stream position" in p),
        "unrecorded_promotions": sum(1 for i in injections for p in i.problems if "without an event" in p),
        "scratch_left": sum(1 for i in injections for p in i.problems if "scratch" in p),
        "restarts_failed": sum(1 for i in injections if not i.continued),
        "problems": dict(problems),
        "injections": [i.to_dict() for i in injections],
    }

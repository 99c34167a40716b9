"""Tables and plots for runs of approaches side by side, one module per concept.

``results`` holds the one result type of a run (``RunResult``) and its validation;
``tables`` the flat rows and the terminal and markdown tables; ``claims`` the published
claims; ``curves`` rolling R² and the Pareto front; ``plotting`` the shared style;
``plots`` and ``pareto`` the three figures; ``files`` writes everything to a directory;
``words`` names a task's figures for the command line and the dashboard.
matplotlib is imported only inside the plotting functions, so importing this package
stays cheap for the CLI and the driver.
"""

from harmone.report.claims import CLAIM_ENERGY_RATIO_MAX, CLAIM_R2_RATIO_MIN, Claim, claims
from harmone.report.curves import ROLLING_WINDOW, effective_window, pareto_front, rolling_r2
from harmone.report.files import write_results
from harmone.report.pareto import plot_energy_vs_r2
from harmone.report.plots import plot_harmone_timeline, plot_rolling_r2
from harmone.report.results import EventMark, ReportError, RunResult
from harmone.report.tables import MISSING, format_table, meter_label, results_markdown, results_rows

__all__ = [
    "CLAIM_ENERGY_RATIO_MAX", "CLAIM_R2_RATIO_MIN", "MISSING", "ROLLING_WINDOW", "Claim", "EventMark", "ReportError",
    "RunResult", "claims", "effective_window", "format_table", "meter_label", "pareto_front",
    "plot_energy_vs_r2", "plot_harmone_timeline", "plot_rolling_r2", "results_markdown", "results_rows",
    "rolling_r2", "write_results",
]

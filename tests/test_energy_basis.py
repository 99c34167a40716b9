"""One energy basis: the calibrated range corrected by how live serving compares with calibration."""

from __future__ import annotations

import numpy as np
import pytest

from harmone.mape.energy_basis import SumsWindow, correct, kind_sums

CALIBRATED_UJ = {"linear": 600.0, "svm": 700.0, "lstm": 3000.0}
E_MAX_UJ = 1.25 * 3000.0


def test_a_uniformly_colder_live_stream_keeps_the_calibrated_normalised_energy() -> None:
    # Live predictions cost 1.4x their calibration (a longer wait than calibration's gap).
    sums = {"linear": (400, 400 * 600.0 * 1.4)}
    correction = correct(sums, CALIBRATED_UJ, 0.0, E_MAX_UJ)
    assert correction is not None
    assert correction.factor == pytest.approx(1.4) and correction.rows == 400
    live_e = 600.0 * 1.4 / correction.e_max_uj
    assert live_e == pytest.approx(600.0 / E_MAX_UJ)  # the linear model's calibrated e, not 1.4x it
    assert correction.to_record() == {"factor": correction.factor, "rows": 400, "e_max_uj": correction.e_max_uj}


def test_a_kind_that_costs_more_than_the_others_live_still_shows_it() -> None:
    sums = {"linear": (1000, 1000 * 600.0), "svm": (200, 200 * 700.0 * 3.0)}  # the SVR runs 3x its calibration
    correction = correct(sums, CALIBRATED_UJ, 0.0, E_MAX_UJ)
    assert correction is not None
    svm_e = 700.0 * 3.0 / correction.e_max_uj
    linear_e = 600.0 / correction.e_max_uj
    assert svm_e > 2 * (700.0 / E_MAX_UJ) and linear_e < 600.0 / E_MAX_UJ


def test_no_basis_means_no_correction() -> None:
    assert correct({}, CALIBRATED_UJ, 0.0, E_MAX_UJ) is None
    assert correct({"forest": (10, 100.0)}, CALIBRATED_UJ, 0.0, E_MAX_UJ) is None  # never calibrated
    assert correct({"linear": (10, 0.0)}, CALIBRATED_UJ, 0.0, E_MAX_UJ) is None  # a meter that did not move


def test_kind_sums_leave_out_unknown_energies() -> None:
    models = np.array(["linear", "linear", "svm", "svm"])
    energy = np.array([1.0, 2.0, np.nan, 4.0])
    assert kind_sums(models, energy) == {"linear": (2, 3.0), "svm": (1, 4.0)}


def test_the_window_keeps_the_newest_batches_covering_its_rows() -> None:
    window = SumsWindow(rows=100)
    assert window.update({"linear": (60, 60.0)}).get() == {"linear": (60, 60.0)}
    window.update({"svm": (60, 120.0)})
    assert window.get() == {"linear": (60, 60.0), "svm": (60, 120.0)}  # 60 alone would not cover 100
    window.update({"lstm": (50, 500.0)})
    assert window.get() == {"svm": (60, 120.0), "lstm": (50, 500.0)}  # the oldest batch is no longer needed
    window.update({})
    assert window.get() == {"svm": (60, 120.0), "lstm": (50, 500.0)}

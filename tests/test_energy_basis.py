"""One energy basis: live model energy put on the calibration's scale, kind by kind."""

from __future__ import annotations

import numpy as np
import pytest

from harmone.mape.energy_basis import SumsWindow, correct, kind_sums

CALIBRATED_UJ = {"linear": 600.0, "svm": 700.0, "lstm": 3000.0}
E_MAX_UJ = 1.25 * 3000.0


def test_a_colder_live_stream_keeps_each_kinds_calibrated_normalised_energy() -> None:
    # Live, the linear model costs 1.4x its calibration and the LSTM 0.9x (waits affect kinds unalike).
    sums = {"linear": (400, 400 * 600.0 * 1.4), "lstm": (100, 100 * 3000.0 * 0.9)}
    correction = correct(sums, CALIBRATED_UJ)
    assert correction is not None
    assert correction.by_kind == pytest.approx({"linear": 1.4, "lstm": 0.9}) and correction.rows == 500
    models = np.array(["linear", "lstm", "svm"])
    rescaled = correction.rescale(models, np.array([600.0 * 1.4, 3000.0 * 0.9, 700.0]))
    # Each served kind at its calibrated cost; a kind not served yet divided by the pooled factor.
    assert rescaled[:2] == pytest.approx([600.0, 3000.0])
    pooled = (400 * 600.0 * 1.4 + 100 * 3000.0 * 0.9) / (400 * 600.0 + 100 * 3000.0)
    assert correction.pooled == pytest.approx(pooled) and rescaled[2] == pytest.approx(700.0 / pooled)
    assert correction.to_record() == {"factor": correction.pooled, "rows": 500, "by_kind": correction.by_kind}


def test_a_batch_dearer_than_its_kinds_recent_rows_shows_as_dearer() -> None:
    window = SumsWindow(rows=1000)
    window.update({"svm": (900, 900 * 700.0)})
    window.update({"svm": (100, 100 * 700.0 * 3.0)})  # the newest batch ran 3x its usual cost
    correction = correct(window.get(), CALIBRATED_UJ)
    assert correction is not None
    batch = correction.rescale(np.array(["svm"]), np.array([700.0 * 3.0]))[0]
    assert batch / E_MAX_UJ == pytest.approx(2.5 * (700.0 / E_MAX_UJ))  # 3x over a window it is a sixth of


def test_no_basis_means_no_correction() -> None:
    assert correct({}, CALIBRATED_UJ) is None
    assert correct({"forest": (10, 100.0)}, CALIBRATED_UJ) is None  # never calibrated
    assert correct({"linear": (10, 0.0)}, CALIBRATED_UJ) is None  # a meter that did not move


def test_kind_sums_leave_out_unknown_energies() -> None:
    models = np.array(["linear", "linear", "svm", "svm"])
    energy = np.array([1.0, 2.0, np.nan, 4.0])
    assert kind_sums(models, energy) == {"linear": (2, 3.0), "svm": (1, 4.0)}


def test_each_kind_keeps_its_newest_batches_covering_its_rows() -> None:
    window = SumsWindow(rows=100)
    assert window.update({"linear": (60, 60.0)}).get() == {"linear": (60, 60.0)}
    window.update({"linear": (60, 120.0), "svm": (10, 5.0)})
    assert window.get() == {"linear": (120, 180.0), "svm": (10, 5.0)}  # 60 alone would not cover 100
    window.update({"linear": (50, 500.0)})
    assert window.get() == {"linear": (110, 620.0), "svm": (10, 5.0)}  # the oldest linear batch is not needed
    window.update({})  # a kind that stops serving keeps its factor's basis
    assert window.get()["svm"] == (10, 5.0)

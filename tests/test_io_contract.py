"""The promises every reader keeps, checked on every reader (old and new) alike.

Like scikit-learn's ``check_estimator``: one set of 2D keypoints is written in
each tool's own layout (``tool_files``), and every reader must return the
ids with their types, missing joints as NaN with score 0, the keypoints
and scores the file holds, and -- lifted, streamed through ``lift_file`` --
the same 3D as the plain wide CSV of the same keypoints.
"""

import importlib.util

import numpy as np
import pandas as pd
import pytest

from lift2d3d.io import detect_layout, read_keypoints
from lift2d3d.pipeline import lift_file, lift_keypoints
from lift2d3d.lifter import Lifter
from test_io_support import toy_bases
from tool_files import WRITERS

HAVE_TABLES = importlib.util.find_spec("tables") is not None


def _write(name, tmp_path):
    if name == "deeplabcut-h5" and not HAVE_TABLES:
        pytest.skip("PyTables is not installed (pip install 'lift2d3d[h5]')")
    return WRITERS[name](tmp_path)


@pytest.fixture(scope="module")
def lifter():
    return Lifter(bases=toy_bases(), method="convex")


def _kind(series):
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        return "float"
    return "text"


@pytest.mark.parametrize("name", WRITERS)
def test_layout_is_detected_from_the_content(name, tmp_path):
    written = _write(name, tmp_path)
    assert detect_layout(written.path) == written.layout


@pytest.mark.parametrize("name", WRITERS)
def test_ids_keep_their_values_and_types(name, tmp_path):
    written = _write(name, tmp_path)
    table = read_keypoints(written.path, **written.options)
    assert table.layout == written.layout and table.skeleton.name == written.skeleton
    assert list(table.ids.columns) == list(written.ids.columns)
    for column in written.ids.columns:
        assert _kind(table.ids[column]) == _kind(written.ids[column]), column
        if _kind(written.ids[column]) == "text":
            assert table.ids[column].tolist() == written.ids[column].tolist()
        else:
            np.testing.assert_allclose(table.ids[column].to_numpy(dtype=float),
                                       written.ids[column].to_numpy(dtype=float), equal_nan=True)


@pytest.mark.parametrize("name", WRITERS)
def test_missing_joints_are_nan_with_score_zero_and_the_rest_is_what_the_file_holds(name, tmp_path):
    written = _write(name, tmp_path)
    table = read_keypoints(written.path, **written.options)
    missing = written.scores <= 0
    assert missing.any() and (~missing).any()
    assert np.isnan(table.keypoints[missing]).all()
    assert (table.scores[missing] == 0).all()
    np.testing.assert_allclose(table.keypoints[~missing], written.keypoints[~missing], rtol=0, atol=1e-6)
    np.testing.assert_allclose(table.scores, written.scores, rtol=0, atol=1e-9)
    expected_empty = getattr(written, "no_person", np.zeros(len(written.ids), dtype=bool))
    assert np.array_equal(table.no_person, expected_empty)


@pytest.mark.parametrize("name", WRITERS)
def test_lifted_3d_equals_the_plain_csv_lift_of_the_same_keypoints(name, tmp_path, lifter):
    written = _write(name, tmp_path)
    plain = tmp_path / "plain.csv"
    written.plain_frame().to_csv(plain, index=False, float_format="%.17g")
    expected = lift_keypoints(read_keypoints(plain), lifter)
    out = tmp_path / "lifted.csv"
    summary = lift_file(written.path, out, lifter, chunk_rows=4, **written.options)
    got = pd.read_csv(out)
    assert summary.rows == len(expected) == len(got)
    xyz = [c for c in expected.columns if c[-2:] in ("_x", "_y", "_z") and c not in written.ids.columns]
    empty = getattr(written, "no_person", np.zeros(len(got), dtype=bool))
    assert (got.loc[empty, "status"] == "no_person").all()
    assert got.loc[~empty, "status"].tolist() == expected.loc[~empty, "status"].tolist()
    lifted = expected["status"].isin(["ok", "not_converged"]).to_numpy() & ~empty
    assert lifted.sum() >= len(got) - 2
    difference = np.abs(got.loc[lifted, xyz].to_numpy(float) - expected.loc[lifted, xyz].to_numpy(float))
    assert difference.max() < 0.002, f"{name}: 3D differs from the plain CSV's by {difference.max() * 1000:.2f} mm"

"""Fuzzing the readers: no input makes them fail with anything but a clear KeypointFormatError."""

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lift2d3d import lift_table
from lift2d3d.io import KeypointFormatError, read_keypoints
from lift2d3d.lifter import Lifter
from lift2d3d.skeletons import get_skeleton
from test_io_support import toy_bases

COCO = get_skeleton("coco17")
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

names = st.sampled_from(["frame", "person", "video", "joint", "x", "y", "score", "nose_x", "nose_y", "nose_score",
                         "left_wrist_x", "left_wrist_y", "LShoulder_x", "LShoulder_y", "head_top_x", "foo_x",
                         "pelvis_z", "left_wirst_y", "", " ", "a,b", '"q"'])
cells = st.one_of(st.sampled_from(["", "nan", "inf", "-inf", "1e400", "NaN", "abc", "1,5", "0", "-1", "  7 ",
                                   '"', "\t", "None"]),
                  st.floats(allow_nan=True, allow_infinity=True).map(repr),
                  st.integers(-10**20, 10**20).map(str), st.text(max_size=6),
                  st.text(alphabet=',;"\n\r\t 0123456789.-eEnaifNA\\', max_size=8))


def _read(path, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            table = read_keypoints(path, **kwargs)
        except KeypointFormatError as exc:
            assert str(exc)                      # always says something
            return None
    n = len(table)
    assert table.keypoints.shape == (n, table.skeleton.n_joints, 2)
    # what reaches the solver is finite or NaN-with-score-0, never inf or absurd
    finite = np.isfinite(table.keypoints).all(axis=2)
    assert (table.scores[~finite] == 0).all()
    assert np.isfinite(table.scores).all() and (table.scores >= 0).all()
    assert not np.isinf(table.keypoints).any()
    return table


@FUZZ
@given(header=st.lists(names, min_size=1, max_size=8),
       rows=st.lists(st.lists(cells, min_size=0, max_size=9), max_size=6),
       sep=st.sampled_from([",", ";", "\t"]))
def test_random_csv_text(header, rows, sep):
    text = sep.join(header) + "\n" + "\n".join(sep.join(r) for r in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "k.csv"
        path.write_text(text)
        _read(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_after_a_valid_header(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "k.csv"
        path.write_bytes(b"frame,nose_x,nose_y,joint,x,y\n0,1,2,nose,1,2\n" + data)
        _read(path)
        path.write_bytes(b"frame,joint,x,y\n0,nose,1,2\n" + data)
        _read(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        for name in ("k.csv", "k.json", "k.npy", "k.npz", "k.trc", "k.h5"):
            path = Path(folder) / name
            path.write_bytes(data)
            _read(path)


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["image_id", "keypoints", "score", "people", "pose_keypoints_2d", "annotations", "x"]),
        inner, max_size=4),
    max_leaves=30)


@FUZZ
@given(document=json_values, as_openpose=st.booleans())
def test_random_json(document, as_openpose):
    with tempfile.TemporaryDirectory() as folder:
        if as_openpose:
            path = Path(folder) / "op"
            path.mkdir()
            (path / "v_000000000000_keypoints.json").write_text(json.dumps(document))
        else:
            path = Path(folder) / "k.json"
            path.write_text(json.dumps(document))
        _read(path)


mmpose_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers(-5, 500) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=18) | st.dictionaries(
        st.sampled_from(["frame_id", "instances", "keypoints", "keypoint_scores", "bbox", "bbox_score"]),
        inner, max_size=5),
    max_leaves=60)


@FUZZ
@given(document=mmpose_values, folder_of_images=st.booleans())
def test_random_mmpose_predictions(document, folder_of_images):
    with tempfile.TemporaryDirectory() as folder:
        if folder_of_images:
            path = Path(folder) / "preds"
            path.mkdir()
            (path / "a.json").write_text(json.dumps([{"keypoints": [[1, 2]] * 17, "keypoint_scores": [1] * 17}]))
            (path / "b.json").write_text(json.dumps(document))
        else:
            path = Path(folder) / "video.json"
            path.write_text(json.dumps([{"frame_id": 0, "instances": document}, document]))
        _read(path)


dlc_cells = st.one_of(cells, st.sampled_from(["x", "y", "likelihood", "z", "nose", "LShoulder", "ind1", "single",
                                              "scorer", "bodyparts", "coords", "individuals"]))


@FUZZ
@given(header=st.lists(st.lists(dlc_cells, min_size=0, max_size=7), min_size=0, max_size=3),
       rows=st.lists(st.lists(cells, min_size=0, max_size=8), max_size=5))
def test_random_deeplabcut_csv(header, rows):
    lines = ["scorer,S,S,S,S,S,S", "bodyparts,nose,nose,nose,LShoulder,LShoulder,LShoulder",
             "coords,x,y,likelihood,x,y,likelihood"]
    for k, cells_ in enumerate(header):  # replace header rows with random ones now and then
        lines[k] = ",".join([lines[k].split(",")[0]] + cells_)
    text = "\n".join(lines + [",".join(r) for r in rows]) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "videoDLC_resnet50.csv"
        path.write_text(text)
        _read(path)
        _read(path, joint_map={"nose": None})


@FUZZ
@given(data=st.binary(max_size=300), names=st.lists(st.sampled_from(["RHip", "Hip", "Neck", "Nose", "tail", ""]),
                                                     min_size=0, max_size=4))
def test_random_trc(data, names):
    header = ("PathFileType\t4\t(X/Y/Z)\tk.trc\nDataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\n"
              f"30\t30\t2\t{len(names)}\tm\nFrame#\tTime\t" + "\t\t\t".join(names) + "\n\t\tX1\tY1\tZ1\n\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "k.trc"
        path.write_bytes(header.encode() + data)
        _read(path)
        _read(path, image_size=(640, 480))


@FUZZ
@given(shape=st.lists(st.integers(0, 34), min_size=0, max_size=4),
       fill=st.sampled_from([0.0, np.nan, np.inf, 1e30, -5.0]), dtype=st.sampled_from(["f8", "f4", "i4", "U3"]),
       format=st.sampled_from([None, "coco17", "body15"]))
def test_random_arrays(shape, fill, dtype, format):
    array = np.full(shape, fill if dtype[0] == "f" else 1).astype(dtype)
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "k.npy", array)
        _read(Path(folder) / "k.npy", format=format)
        np.savez(Path(folder) / "k.npz", keypoints=array)
        _read(Path(folder) / "k.npz", format=format)


LIFTER = Lifter(bases=toy_bases(), method="convex", max_iter=50)


@settings(max_examples=25, deadline=None)
@given(values=st.lists(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                                          st.sampled_from(["", "x", None])),
                                min_size=len(COCO.joints) * 3, max_size=len(COCO.joints) * 3),
                       min_size=0, max_size=5),
       frames=st.lists(st.integers(0, 3), min_size=5, max_size=5))
def test_lift_table_never_raises_for_bad_cells(values, frames):
    columns = [f"{j}_{a}" for j in COCO.joints for a in ("x", "y", "score")]
    frame = pd.DataFrame(values, columns=columns, dtype=object)
    frame.insert(0, "frame", frames[:len(frame)])
    try:
        out = lift_table(frame, LIFTER)
    except KeypointFormatError as exc:
        # the one refusal of a whole table: coordinates that look normalised (lifting them as
        # pixels would be a silent wrong answer)
        assert "look normalised" in str(exc) and "--image-size" in str(exc)
        return
    assert len(out) == len(frame)
    lifted = out["status"].isin(["ok", "not_converged"]).to_numpy()
    xyz = out[[c for c in out.columns if c[-2:] in ("_x", "_y", "_z")]].to_numpy(dtype=float)
    assert np.isfinite(xyz[lifted]).all() and np.isnan(xyz[~lifted]).all()
    assert (out.loc[~lifted, "message"] != "").all()


# ----------------------------------------------------------------------------- every layout, mutated
# Each layout's seed file (as its tool writes it, tests/tool_files.py), mutated once per example
# (tests/fuzz_cases.py: flipped, cut or inserted bytes, a number replaced by garbage such as `true`
# or a 400-digit integer, deep nesting, a line dropped or repeated). The outcome is a clean
# KeypointFormatError or a table in which no garbage became a coordinate or a score.
# `python benchmarks/fuzz.py` runs hundreds per layout, in a separate process and through the CLI.

from fuzz_cases import judge_read, make_case, seeds  # noqa: E402

_SEEDS_DIR = tempfile.TemporaryDirectory(prefix="lift2d3d-fuzz-seeds-")
SEEDS = seeds(Path(_SEEDS_DIR.name))
MUTATIONS = settings(max_examples=15, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])


def _baseline(seed):
    table = _read(seed.path, **seed.options)
    return table.keypoints, table.scores, table.good


BASELINES = {}


@pytest.mark.parametrize("layout", sorted(SEEDS))
@MUTATIONS
@given(case=st.integers(0, 2**32 - 1))
def test_every_layout_mutated_fails_cleanly_and_reads_no_garbage(layout, case):
    seed = SEEDS[layout]
    if layout not in BASELINES:
        BASELINES[layout] = _baseline(seed)
    rng = np.random.default_rng(case)
    with tempfile.TemporaryDirectory() as folder:
        path, kind = make_case(seed, Path(folder), rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                table = read_keypoints(path, **seed.options)
            except KeypointFormatError as exc:
                assert str(exc)
                return
        answer = ("read", table.keypoints, table.scores, table.good)
        outcome, detail = judge_read(answer, BASELINES[layout], kind)
        assert outcome == "clean", f"{layout} ({kind}): {detail}"
        _read(path, **seed.options)      # and the invariants every table keeps

"""The Dask backend against the single-machine path, on a real LocalCluster over loopback.

Everything runs for real: the numba solver, the io readers and writers, and
two worker processes talking TCP on 127.0.0.1.  The shape bases are a small
synthetic set built here (the tests must not need the shipped MoCap bases).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("distributed")

from lift2d3d.bases import ShapeBases  # noqa: E402
from lift2d3d.distributed import (lift_dataframe, lift_files, parse_scheduler, plan_partitions,  # noqa: E402
                                  read_lifted)
from lift2d3d.distributed import cluster as cluster_module  # noqa: E402
from lift2d3d.distributed import partitions as partitions_module  # noqa: E402
from lift2d3d.skeletons import BODY15  # noqa: E402
from lift2d3d.status import LIFTED  # noqa: E402

HAVE_PYARROW = importlib.util.find_spec("pyarrow") is not None
N_TOOL_FRAMES = 6  # tool_files.N_FRAMES
CHUNK = 100  # rows per lifter call (the CLI's --chunk-size), small so that files have many chunks

# A standing person, metres, x right, y down (camera convention), for the synthetic bases.
_STANDING = {"pelvis": (0, 0, 0), "neck": (0, -0.5, 0), "head": (0, -0.68, 0.02),
             "left_shoulder": (0.18, -0.5, 0), "right_shoulder": (-0.18, -0.5, 0),
             "left_elbow": (0.2, -0.22, 0.02), "right_elbow": (-0.2, -0.22, 0.02),
             "left_wrist": (0.22, 0.02, 0.05), "right_wrist": (-0.22, 0.02, 0.05),
             "left_hip": (0.1, 0, 0), "right_hip": (-0.1, 0, 0), "left_knee": (0.1, 0.42, 0.02),
             "right_knee": (-0.1, 0.42, 0.02), "left_ankle": (0.1, 0.82, -0.02), "right_ankle": (-0.1, 0.82, -0.02)}


def _synthetic_bases(n_bases=6, seed=0) -> ShapeBases:
    rng = np.random.default_rng(seed)
    mean = np.array([_STANDING[j] for j in BODY15.joints], dtype=float).T
    # limbs and head deform; the shoulder and hip lines stay a person's (crossed ones are flagged suspect_input)
    moving = np.array([j.split("_")[-1] in ("elbow", "wrist", "knee", "ankle", "head") for j in BODY15.joints])
    atoms = np.concatenate([mean[None], 0.08 * rng.normal(size=(n_bases - 1, 3, BODY15.n_joints)) * moving])
    return ShapeBases(atoms, mean, BODY15, {"alpha": 0.3, "source": "synthetic test bases"})


def _keypoints(bases: ShapeBases, n: int, seed: int) -> pd.DataFrame:
    """Wide body15 keypoints (pixels) of random sparse poses seen from random yaw angles."""
    rng = np.random.default_rng(seed)
    coefficients = np.zeros((n, bases.n_bases))
    coefficients[:, 0] = 1.0
    coefficients[:, 1:] = rng.normal(scale=0.4, size=(n, bases.n_bases - 1)) * (rng.random((n, bases.n_bases - 1)) < 0.5)  # noqa: E501
    poses = np.einsum("nk,kaj->naj", coefficients, bases.bases)
    yaw = rng.uniform(-np.pi, np.pi, n)
    x = np.cos(yaw)[:, None] * poses[:, 0] + np.sin(yaw)[:, None] * poses[:, 2]
    pixels = np.stack([300 * x + 640, 300 * poses[:, 1] + 360], axis=1) + rng.normal(scale=1.0, size=(n, 2, 15))
    pixels = np.round(pixels, 3)
    missing = rng.random((n, 15)) < 0.03
    columns = {"frame": np.arange(n)}
    for j, joint in enumerate(BODY15.joints):
        columns[f"{joint}_x"] = np.where(missing[:, j], np.nan, pixels[:, 0, j])
        columns[f"{joint}_y"] = np.where(missing[:, j], np.nan, pixels[:, 1, j])
        columns[f"{joint}_score"] = np.round(rng.uniform(0.3, 1.0, n), 3)
    return pd.DataFrame(columns)


def _write_csv(frame: pd.DataFrame, path: Path, edits=None) -> Path:
    """Write ``frame`` as CSV, then replace whole data lines: ``edits = {data_row: new_line}``."""
    lines = frame.to_csv(index=False, lineterminator="\n").split("\n")
    for row, text in (edits or {}).items():
        lines[row + 1] = text
    path.write_text("\n".join(lines))
    return path


def _with_id(frame: pd.DataFrame, row: int, frame_id: int) -> str:
    """Data line ``row`` of ``frame`` with its frame id replaced (a duplicate id)."""
    values = frame.iloc[[row]].to_csv(index=False, header=False, lineterminator="\n").strip().split(",")
    values[0] = str(frame_id)
    return ",".join(values)


def _joined_csv_parts(directory: Path) -> str:
    parts = sorted(directory.glob("part-*.csv"))
    texts = [p.read_text() for p in parts]
    return texts[0] + "".join(t.split("\n", 1)[1] for t in texts[1:])


def _assert_same_as_npz(lifted: pd.DataFrame, npz_path: Path):
    """A distributed output equals the single-machine NPZ output: same rows, same values, bit for bit."""
    with np.load(npz_path, allow_pickle=False) as single:
        joints = list(single["joint_names"])
        # the NPZ writer gives numeric ids back their type, Parquet too; the CSV parts keep the text
        assert lifted["frame"].astype(str).tolist() == single["id_frame"].astype(str).tolist()
        assert lifted["status"].astype(str).tolist() == single["status"].tolist()
        assert lifted["message"].astype(str).tolist() == single["message"].tolist()
        np.testing.assert_array_equal(lifted["iterations"].to_numpy(np.int64), single["iterations"])
        xyz = lifted[[f"{j}_{a}" for j in joints for a in "xyz"]].to_numpy(np.float64).reshape(len(lifted), -1, 3)
        np.testing.assert_array_equal(xyz, single["joints3d"])  # NaN matches NaN, numbers exactly
        np.testing.assert_array_equal(lifted["reprojection_error"].to_numpy(np.float64), single["reprojection_error"])


# Single-machine references are computed in fresh processes with numba's kernel cache
# already written, as the workers load it: a process that compiled the kernels itself can
# differ from one that loaded them from the cache in the last bit of a float (the solver's
# fast-math flags), which would say nothing about the distributed backend.
_REFERENCE_SCRIPT = """
import json, sys
import pandas as pd
from lift2d3d.pipeline import lift_file, lift_table
from lift2d3d.lifter import Lifter
jobs = json.loads(sys.argv[1])
lifter = Lifter(jobs["bases"], n_threads=1)
lifter.lift(400 * lifter.bases.mean_pose[:2].T + 300)
for source, target, chunk, sequence in jobs["files"]:
    lift_file(source, target, lifter, chunk_rows=chunk, progress=False, sequence=sequence)
for source, target in jobs["tables"]:
    lift_table(pd.read_csv(source, dtype={"frame": str}), lifter).to_pickle(target)
"""


def _run_single_machine(bases_path, files=(), tables=()):
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    jobs = {"bases": str(bases_path), "files": [[str(a), str(b), c, bool(q)] for a, b, c, q in files],
            "tables": [[str(a), str(b)] for a, b in tables]}
    subprocess.run([sys.executable, "-c", _REFERENCE_SCRIPT, json.dumps(jobs)], check=True, env=env, timeout=600)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("distributed")


@pytest.fixture(scope="module")
def bases_path(workdir):
    return _synthetic_bases().save(workdir / "synthetic_body15.npz")


@pytest.fixture(scope="module")
def inputs(workdir, bases_path):
    """Three wide CSV files; the second has a non-numeric cell and duplicate ids in and across blocks."""
    bases = ShapeBases.load(bases_path)
    paths = []
    for k in range(3):
        frame = _keypoints(bases, 1200, seed=k)
        edits = {}
        if k == 1:
            bad = frame.iloc[[49]].to_csv(index=False, header=False, lineterminator="\n").strip().split(",")
            bad[5] = "abc"
            edits = {49: ",".join(bad), 699: _with_id(frame, 699, 3), 709: _with_id(frame, 709, 704)}
        paths.append(_write_csv(frame, workdir / f"clip{k}.csv", edits))
    return paths


@pytest.fixture(scope="module")
def long_input(workdir, bases_path):
    """24,000 rows: long enough (on 2 workers) to kill one while partitions are in flight."""
    return _write_csv(_keypoints(ShapeBases.load(bases_path), 24_000, seed=7), workdir / "long.csv")


@pytest.fixture(scope="module")
def single_machine(workdir, inputs, long_input, bases_path):
    """What the single-machine path (`lift2d3d lift`'s lift_file) writes for each input, CSV and NPZ."""
    _run_single_machine(bases_path)  # compiles the kernels once and writes numba's cache
    outputs = {path: (workdir / f"single_{path.stem}.csv", workdir / f"single_{path.stem}.npz")
               for path in inputs + [long_input]}
    files = [(path, target, CHUNK, False) for path, targets in outputs.items() for target in targets]
    # `lift --sequence` of the file with the duplicate ids (whose later copies are not lifted)
    outputs["sequence"] = (workdir / "single_clip1_sequence.csv",)
    files.append((inputs[1], outputs["sequence"][0], CHUNK, True))
    _run_single_machine(bases_path, files, tables=[(inputs[0], workdir / "table_clip0.pkl")])
    return outputs


@pytest.fixture(scope="module")
def client(single_machine):
    # started after single_machine, so that the workers load the kernels from numba's cache
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
        yield client


# ----------------------------------------------------------------------------- no cluster needed
@pytest.mark.parametrize("text, kind, workers, address", [
    ("local", "local", None, None),
    ("local:3", "local", 3, None),
    ("tcp://10.0.0.5:8786", "address", None, "tcp://10.0.0.5:8786"),
    ("scheduler-host:8786", "address", None, "tcp://scheduler-host:8786"),
    ("tls://[::1]:8786", "address", None, "tls://[::1]:8786"),
])
def test_parse_scheduler_forms(text, kind, workers, address):
    spec = parse_scheduler(text)
    assert (spec.kind, spec.n_workers, spec.address) == (kind, workers, address)


@pytest.mark.parametrize("text", ["local:0", "local:two", "http//x", "missing.json", ""])
def test_parse_scheduler_rejects_with_the_accepted_forms(text):
    with pytest.raises(ValueError, match="--scheduler"):
        parse_scheduler(text)


def test_unreachable_scheduler_is_named(monkeypatch, tmp_path, bases_path):
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT_S", 1)
    (tmp_path / "a.csv").write_text("frame,pelvis_x,pelvis_y\n0,1,2\n")
    with pytest.raises(ConnectionError, match=r"127\.0\.0\.1:9.*dask scheduler"):
        lift_files(tmp_path / "a.csv", tmp_path / "out", scheduler="tcp://127.0.0.1:9", bases=bases_path)


def test_missing_input_pattern_is_named(tmp_path, bases_path):
    with pytest.raises(FileNotFoundError, match=r"nothing-\*\.csv"):
        lift_files(str(tmp_path / "nothing-*.csv"), tmp_path / "out", scheduler="local:1", bases=bases_path)


def test_the_workers_lifter_comes_from_get_params(tmp_path, bases_path):
    from lift2d3d.distributed import LifterSpec
    from lift2d3d.lifter import Camera, Lifter

    lifter = Lifter(str(bases_path), method="robust", camera=Camera(900.0, (320.0, 240.0)))
    lifter.alpha = 0.05                       # set later: the spec reads what the lifter holds now
    spec = LifterSpec.from_lifter(lifter)
    built = spec.build()
    given = {k: v for k, v in lifter.get_params().items() if k != "bases"}
    assert {k: v for k, v in built.get_params().items() if k != "bases"} == {**given, "n_threads": 1}
    np.testing.assert_array_equal(built.bases.bases, lifter.bases.bases)
    assert built.resolved_params()["refine_alpha"] == pytest.approx(0.05 / 4)
    same = LifterSpec.create(str(bases_path), method="robust", camera=Camera(900.0, (320.0, 240.0)), alpha=0.05)
    assert same.key == spec.key and LifterSpec.create(str(bases_path)).key != spec.key
    assert dict(LifterSpec.from_lifter(Lifter(str(bases_path), n_threads=2)).options)["n_threads"] == 2
    with pytest.raises(ValueError, match="either lifter= or bases= and Lifter options"):
        lift_files(tmp_path / "a.csv", tmp_path / "out", lifter=lifter, method="convex")


@pytest.mark.parametrize("rows_per_partition", [1, 3, 7, 50])
@pytest.mark.parametrize("trailing_newline", [True, False])
def test_row_blocks_cover_the_file_exactly(tmp_path, monkeypatch, rows_per_partition, trailing_newline):
    # tiny read buffers so that row boundaries fall across buffer edges
    monkeypatch.setattr(partitions_module, "_READ_BLOCK", 5)
    n_rows = 23
    body = "".join(f"{i},{i * 1.5},{-i}\n" for i in range(n_rows))
    path = tmp_path / "k.csv"
    path.write_bytes(b"frame,pelvis_x,pelvis_y\n" + (body if trailing_newline else body[:-1]).encode())
    blocks = partitions_module.plan_csv_partitions(str(path), rows_per_partition)
    data = path.read_bytes()
    joined = b"".join(data[b.byte_start:b.byte_stop] for b in blocks)
    assert joined == data[len(b"frame,pelvis_x,pelvis_y\n"):]
    assert [b.first_row for b in blocks] == list(range(0, n_rows, rows_per_partition))
    assert sum(b.n_rows for b in blocks) == n_rows
    for block in blocks:
        text = data[block.byte_start:block.byte_stop].decode()
        assert text.split(",", 1)[0] == str(block.first_row)  # each block starts on its first row
        assert text.count("\n") + (not text.endswith("\n")) == block.n_rows


def test_unusable_file_is_reported_at_planning(tmp_path):
    (tmp_path / "three_d.csv").write_text("frame,pelvis_x,pelvis_y,pelvis_z\n0,1,2,3\n")
    plan = plan_partitions([str(tmp_path / "three_d.csv")], 100)
    error = plan[str(tmp_path / "three_d.csv")]
    assert isinstance(error, ValueError) and "three_d.csv" in str(error) and "3D columns" in str(error)


# ----------------------------------------------------------------------------- on the cluster
def test_parquet_output_is_the_single_machine_result(workdir, inputs, single_machine, client, bases_path):
    if not HAVE_PYARROW:
        pytest.skip("pyarrow not installed")
    out = workdir / "out_parquet"
    summary = lift_files([str(p) for p in inputs], out, scheduler=client, bases=bases_path,
                         rows_per_partition=300, chunk_rows=CHUNK)
    assert summary.ok, summary.errors
    # 12 blocks, and clip1's third block lifted again: it repeats an id of its first block
    assert summary.n_partitions == 13 and summary.n_frames == 3600
    assert summary.status_counts["bad_input"] == 3  # one non-numeric cell, two duplicate ids
    for path in inputs:
        directory = summary.outputs[str(path)]
        assert directory == out / f"{path.stem}_3d.parquet"
        assert len(list(directory.glob("part-*.parquet"))) == 4
        _assert_same_as_npz(read_lifted(directory), single_machine[path][1])
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging or temporary files left
    lifted = read_lifted(out / "clip1_3d.parquet")
    messages = lifted.set_index("frame")["message"]
    assert "already seen at an earlier chunk" in messages.iloc[699]  # found across partitions
    assert "already seen at line 706" in messages.iloc[709]           # found inside one partition


def test_csv_parts_join_to_the_cli_output_byte_for_byte(workdir, inputs, single_machine, client, bases_path):
    out = workdir / "out_csv"
    summary = lift_files([str(p) for p in inputs], out, scheduler=client, bases=bases_path,
                         rows_per_partition=300, chunk_rows=CHUNK, output_format="csv")
    assert summary.ok, summary.errors
    for path in inputs:
        assert _joined_csv_parts(summary.outputs[str(path)]) == single_machine[path][0].read_text()


def test_a_killed_clients_leftovers_are_cleared_and_a_busy_output_refused(workdir, inputs, single_machine, client,
                                                                         bases_path):
    """A client killed mid-run leaves its hidden staging folders; the next run on the same outputs,
    holding their locks, removes them. A run on outputs another run holds refuses."""
    from lift2d3d.distributed.engine import output_path_for
    from lift2d3d.pipeline import OutputBusyError, output_lock

    out = workdir / "out_leftovers"
    final = output_path_for(inputs[0], out, "csv")
    stale = final.with_name(f".{final.name}.partial-0123456789ab")
    stale.mkdir(parents=True)
    (stale / "part-00000.csv").write_text("half a part")
    old = final.with_name(f".{final.name}.old-89abcdef")
    old.mkdir()
    with output_lock(final):
        with pytest.raises(OutputBusyError, match=f"{final} is being written by another run"):
            lift_files([str(inputs[0])], out, scheduler=client, bases=bases_path, output_format="csv")
    assert stale.exists()
    summary = lift_files([str(inputs[0])], out, scheduler=client, bases=bases_path, rows_per_partition=300,
                         chunk_rows=CHUNK, output_format="csv")
    assert summary.ok, summary.errors
    assert sorted(p.name for p in out.iterdir()) == [final.name]
    assert _joined_csv_parts(summary.outputs[str(inputs[0])]) == single_machine[inputs[0]][0].read_text()


def test_sequence_parts_join_to_the_cli_sequence_output(workdir, inputs, single_machine, client, bases_path):
    """--sequence lifts a person's rows across chunks (each chunk with its neighbours' frames); a
    sequence's task is its whole file, so the parts are the single-machine `lift --sequence` output
    byte for byte, and differ from the per-frame lift."""
    out = workdir / "out_sequence"
    summary = lift_files([str(inputs[1])], out, scheduler=client, bases=bases_path, rows_per_partition=300,
                         chunk_rows=CHUNK, output_format="csv", sequence=True)
    assert summary.ok, summary.errors
    joined = _joined_csv_parts(summary.outputs[str(inputs[1])])
    assert joined == single_machine["sequence"][0].read_text()
    assert joined != single_machine[inputs[1]][0].read_text()


def test_lift_dataframe_matches_lift_table(workdir, inputs, single_machine, client, bases_path):
    import dask.dataframe as dd

    frame = pd.read_csv(inputs[0], dtype={"frame": str})
    ddf = dd.from_pandas(frame, npartitions=4)
    lifted = lift_dataframe(ddf, bases=bases_path).compute(scheduler=client)
    expected = pd.read_pickle(workdir / "table_clip0.pkl")
    pd.testing.assert_frame_equal(lifted.reset_index(drop=True), expected, check_exact=True)


def test_worker_killed_mid_run_gives_the_same_output(workdir, long_input, single_machine, client, bases_path):
    """SIGKILL a busy worker while partitions are in flight: Dask reruns them, the output is unchanged."""
    path = long_input
    out = workdir / "out_killed"
    box = {}
    runner = threading.Thread(target=lambda: box.update(summary=lift_files(
        str(path), out, scheduler=client, bases=bases_path, rows_per_partition=400, chunk_rows=CHUNK)))
    pids_before = client.run(os.getpid)
    runner.start()
    victim = None
    deadline = time.monotonic() + 60
    while victim is None and time.monotonic() < deadline and runner.is_alive():
        staging = [p for p in out.glob(".long_3d.*partial-*") if p.is_dir()] if out.exists() else []
        done = len(list(staging[0].glob("part-*"))) if staging else 0
        if done >= 3:
            busy = {w: keys for w, keys in client.processing().items() if keys}
            if busy:
                victim = sorted(busy)[0]
                parts_at_kill = done
                os.kill(pids_before[victim], signal.SIGKILL)
        time.sleep(0.005)
    runner.join(timeout=120)
    assert victim is not None, "the run ended before a worker could be killed; make the input longer"
    assert parts_at_kill < 60, "the kill came after every partition was written"
    summary = box["summary"]
    assert summary.ok, summary.errors
    assert summary.n_partitions == 60 and summary.n_frames == 24_000
    if HAVE_PYARROW:
        _assert_same_as_npz(read_lifted(out / "long_3d.parquet"), single_machine[path][1])
    else:
        assert _joined_csv_parts(out / "long_3d.csv") == single_machine[path][0].read_text()
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    assert pids_before[victim] not in client.run(os.getpid).values()


def test_bad_partition_is_reported_and_the_other_files_complete(workdir, inputs, single_machine, client,
                                                                bases_path):
    bases = ShapeBases.load(bases_path)
    frame = _keypoints(bases, 900, seed=11)
    broken = _write_csv(frame, workdir / "broken.csv", {450: '450,"unterminated quote,1,2'})
    out = workdir / "out_bad"
    old_output = out / ("broken_3d.parquet" if HAVE_PYARROW else "broken_3d.csv")
    old_output.mkdir(parents=True)
    (old_output / "part-00000.keep").write_text("an earlier run's output")
    summary = lift_files([str(inputs[0]), str(broken), str(inputs[2])], out, scheduler=client,
                         bases=bases_path, rows_per_partition=300, chunk_rows=CHUNK)
    assert not summary.ok
    assert list(summary.errors) == [str(broken)]
    message = summary.errors[str(broken)]
    assert "broken.csv rows 300-599 (lines 302-601)" in message and "no output was written" in message
    assert set(summary.outputs) == {str(inputs[0]), str(inputs[2])}
    if HAVE_PYARROW:
        for path in (inputs[0], inputs[2]):
            _assert_same_as_npz(read_lifted(summary.outputs[str(path)]), single_machine[path][1])
    assert (old_output / "part-00000.keep").read_text() == "an earlier run's output"  # left as it was
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_cli_scheduler_address_runs_many_inputs(workdir, inputs, single_machine, client, bases_path, capsys):
    from lift2d3d.cli import main

    out = workdir / "out_cli"
    address = client.scheduler.address  # tcp://127.0.0.1:PORT of the running cluster
    assert address.startswith("tcp://127.0.0.1:")
    code = main(["lift", str(workdir / "clip*.csv"), "-o", str(out), "--scheduler", address, "--bases", str(bases_path),
                 "--chunk-size", str(CHUNK), "--rows-per-partition", "300", "--output-format", "csv"])
    assert code == 0, capsys.readouterr().err
    for path in inputs:
        assert _joined_csv_parts(out / f"{path.stem}_3d.csv") == single_machine[path][0].read_text()
    # as many rows carry a usable pose as in the single-machine outputs (3 rows are bad input)
    expected = sum(int(pd.read_csv(single_machine[path][0])["status"].isin(LIFTED).sum()) for path in inputs)
    assert expected >= 3580
    assert f"lifted {expected} of 3600 rows from 3 file(s)" in capsys.readouterr().err
    # --sequence reaches the workers
    code = main(["lift", str(inputs[1]), "-o", str(workdir / "out_cli_sequence"), "--scheduler", address,
                 "--bases", str(bases_path), "--chunk-size", str(CHUNK), "--rows-per-partition", "300",
                 "--output-format", "csv", "--sequence", "-q"])
    assert code == 0, capsys.readouterr().err
    assert (_joined_csv_parts(workdir / "out_cli_sequence" / f"{inputs[1].stem}_3d.csv")
            == single_machine["sequence"][0].read_text())


def test_cli_reports_a_failed_input_with_exit_code_2(workdir, inputs, client, bases_path, capsys):
    from lift2d3d.cli import main

    (workdir / "empty.csv").write_text("frame,pelvis_x,pelvis_y\n")
    code = main(["lift", str(inputs[0]), str(workdir / "empty.csv"), "-o", str(workdir / "out_cli_bad"),
                 "--scheduler", client.scheduler.address, "--bases", str(bases_path), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert "empty.csv" in err and "no data rows" in err and "1 of 2 input(s) failed" in err
    assert (workdir / "out_cli_bad" / ("clip0_3d.parquet" if HAVE_PYARROW else "clip0_3d.csv")).is_dir()
    assert main(["lift", str(inputs[0]), str(inputs[1]), "-o", str(workdir / "x.csv")]) == 2
    assert "several inputs need --scheduler" in capsys.readouterr().err


def test_non_numeric_column_is_reported_per_row_and_per_file(workdir, inputs, client, bases_path, capsys):
    from lift2d3d.cli import main

    frame = _keypoints(ShapeBases.load(bases_path), 600, seed=5)
    frame["neck_x"] = "abc"  # a whole column of text: every row is bad input
    frame.to_csv(workdir / "textcol.csv", index=False)
    out = workdir / "out_textcol"
    code = main(["lift", str(inputs[0]), str(workdir / "textcol.csv"), "-o", str(out), "--scheduler",
                 client.scheduler.address, "--bases", str(bases_path), "--chunk-size", str(CHUNK)])
    err = capsys.readouterr().err
    assert code == 1
    assert "no row of" in err and "textcol.csv could be lifted" in err
    assert "textcol.csv: line 2, column neck_x: 'abc' is not a number" in err
    lifted = read_lifted(next(out.glob("textcol_3d.*")))
    assert len(lifted) == 600 and set(lifted["status"]) == {"bad_input"}
    assert lifted["message"].iloc[-1].startswith("line 601, column neck_x")
    assert (lifted["status"] != "bad_input").sum() == 0
    assert set(read_lifted(next(out.glob("clip0_3d.*")))["status"]) >= {"ok"}


def test_reader_options_reach_the_workers_and_parquet_keeps_id_types(workdir, client, bases_path):
    """--image-size (MediaPipe's normalised landmarks), --map (DeepLabCut parts) and --write-camera on the cluster."""
    from lift2d3d.pipeline import lift_file
    from lift2d3d.lifter import Lifter
    from tool_files import IMAGE_SIZE, write_deeplabcut_csv, write_mediapipe_named

    folder = workdir / "tools"
    folder.mkdir()
    landmarks, dlc = write_mediapipe_named(folder), write_deeplabcut_csv(folder)
    dlc.path.write_text(dlc.path.read_text().replace("Nose", "snout"))
    (folder / "map.json").write_text(json.dumps({"snout": "nose"}))
    fmt = "parquet" if HAVE_PYARROW else "csv"
    out = workdir / "out_tools"
    summary = lift_files([str(landmarks.path)], out, scheduler=client, bases=bases_path, chunk_rows=CHUNK,
                         image_size=IMAGE_SIZE, write_camera=True)
    assert summary.ok, summary.errors
    lifted = read_lifted(summary.outputs[str(landmarks.path)])
    single = workdir / "tools_single.csv"
    lift_file(landmarks.path, single, Lifter(str(bases_path), n_threads=1), image_size=IMAGE_SIZE, write_camera=True)
    reference = pd.read_csv(single)
    assert lifted.columns.tolist() == reference.columns.tolist() and len(lifted) == N_TOOL_FRAMES
    np.testing.assert_allclose(lifted["left_knee_z"], reference["left_knee_z"], atol=1e-5)
    np.testing.assert_allclose(lifted["scale"], reference["scale"], rtol=1e-5)
    if fmt == "parquet":
        assert lifted["frame"].dtype.kind == "i"                      # not the CSV reader's text
    failed = lift_files([str(dlc.path)], out, scheduler=client, bases=bases_path, chunk_rows=CHUNK)
    assert "'snout'" in failed.errors[str(dlc.path)]
    mapped = lift_files([str(dlc.path)], out, scheduler=client, bases=bases_path, chunk_rows=CHUNK,
                        joint_map=folder / "map.json")
    assert mapped.ok, mapped.errors
    assert read_lifted(mapped.outputs[str(dlc.path)])["frame"].tolist() == list(range(N_TOOL_FRAMES))

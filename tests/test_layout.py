"""The package's floors: every import runs down (or stays in its own room), and no import cycle exists.

The imports are read from the source (ast), every one of them, inside
functions too: a lazy import that runs back up a floor is as much a piece in
the wrong room as a module-level one.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lift2d3d"

#: The floors, lowest first.  A module may import its own room (the package or module it belongs
#: to) and any room on a lower floor; nothing on its own floor or above.
FLOORS = (
    ("status", "skeletons"),                      # the tables everyone reads: statuses and limits, joint sets
    ("mapping", "depth_order", "options", "learned"),  # skeleton -> skeleton, missing joints; depth hints;
                                                  # the options record; learned models (numpy forward passes)
    ("pixels", "bases", "solvers", "evaluation",   # pixel checks; ShapeBases; array kernels; scoring arrays;
     "world", "kinematics"),                      # the world frame of a clip; body15 as a BVH rig (IK, FK)
    ("plausibility", "inputs", "model"),          # plausible input?; a lift's inputs; the bases as solvers see them
    ("result",),                                  # the LiftResult and its assembly from a solution
    ("lifter", "io", "mocap", "viz", "viewer"),   # arrays -> LiftResult; formats; MoCap readers; pictures, pages
    ("pipeline", "learn", "learn_lifter", "detect", "benchmark"),  # chunks, resume, grouping; learning bases and
                                                                    # the lifting network; detector; bench
    ("distributed",),                             # the pipeline on a Dask cluster
    ("commands",),                                # flags
    ("cli",),                                     # the dispatcher
    ("__main__",),                                # python -m lift2d3d
)
FLOOR = {room: level for level, rooms in enumerate(FLOORS) for room in rooms}

#: Rooms that may use only the public face of ``lift2d3d.io`` (``from ..io import name``), never its
#: reader and writer modules.
PUBLIC_IO_ONLY = ("pipeline", "distributed", "commands")


def _modules():
    """``{module name: path}`` of every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name, path):
    """Every ``lift2d3d`` module ``name`` imports (resolved; ``from . import x`` names ``x`` if it is a module)."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names if a.name.split(".")[0] == "lift2d3d")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.split(".")[0] != "lift2d3d":
                continue
            for alias in node.names:
                child = f"{module}.{alias.name}"
                targets.add(child if child in MODULES else module)
    targets.discard(name)
    return targets


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _room(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None     # None: the top-level package (lazy exports only)


def test_every_room_has_a_floor():
    rooms = {_room(m) for m in MODULES} - {None}
    assert rooms <= set(FLOOR), f"give these modules a floor in FLOORS: {sorted(rooms - set(FLOOR))}"


def test_imports_run_down_the_floors():
    upward = []
    for module, targets in IMPORTS.items():
        room = _room(module)
        if room is None:
            continue
        for target in targets:
            other = _room(target)
            if other is None or other == room:
                continue
            if FLOOR[other] >= FLOOR[room]:
                upward.append(f"{module} imports {target} (floor {FLOOR[room]} -> {FLOOR[other]})")
    assert not upward, "imports that run up or across a floor:\n" + "\n".join(sorted(upward))


def test_only_the_cli_imports_commands():
    users = sorted(m for m, targets in IMPORTS.items() if _room(m) not in ("commands", "cli")
                   and any(_room(t) == "commands" for t in targets))
    assert not users


def test_the_pipeline_the_dask_backend_and_the_cli_use_the_public_io():
    private = sorted(f"{m} imports {t}" for m, targets in IMPORTS.items() if _room(m) in PUBLIC_IO_ONLY
                     for t in targets if t.startswith("lift2d3d.io."))
    assert not private, "\n".join(private)


def test_the_dask_backend_and_the_cli_use_the_public_pipeline():
    """One job-options record and one per-chunk step (lift2d3d.pipeline: JobOptions, prepared_chunks,
    lift_chunk), reached by their public names: the Dask engine once imported the stream's internals."""
    import lift2d3d.pipeline as pipeline

    private = sorted(f"{m} imports {t}" for m, targets in IMPORTS.items() if _room(m) in ("distributed", "commands")
                     for t in targets if t.startswith("lift2d3d.pipeline."))
    assert not private, "\n".join(private)
    for module, path in MODULES.items():
        if _room(module) not in ("distributed", "commands"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module in ("pipeline", "lift2d3d.pipeline"):
                assert all(alias.name in pipeline.__all__ for alias in node.names), f"{module}: {ast.dump(node)}"


def test_solvers_know_arrays_and_io_knows_formats():
    def reaches(room, others):
        return sorted(f"{m} imports {t}" for m, targets in IMPORTS.items() if _room(m) == room
                      for t in targets if _room(t) in others)

    assert not reaches("solvers", {"io", "pipeline", "commands", "distributed", "lifter", "bases", "mapping"})
    assert not reaches("io", {"solvers", "lifter", "pipeline", "commands", "distributed", "evaluation", "learn"})


def test_there_is_no_import_cycle():
    # a package's own __init__ re-exporting its modules is not a cycle: edges into a package from its
    # own modules are left out
    graph = {m: {t for t in targets if t in MODULES and not m.startswith(t + ".")} for m, targets in IMPORTS.items()}
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("name", ["lift_table", "lift_file"])
def test_the_pipeline_is_reached_from_the_top_and_not_from_io(name):
    import lift2d3d
    import lift2d3d.io
    import lift2d3d.pipeline

    assert getattr(lift2d3d, name) is getattr(lift2d3d.pipeline, name)
    assert not hasattr(lift2d3d.io, name)


def test_contributing_shows_the_same_floors():
    """CONTRIBUTING.md's floors table is these FLOORS (it once lacked depth_order and plausibility)."""
    import re

    text = (PACKAGE.parent / "CONTRIBUTING.md").read_text(encoding="utf-8")
    table = {}
    for line in text.splitlines():
        match = re.match(r"\| (\d+) \| (.+?) \|", line)
        if match:
            rooms = re.findall(r"`([\w.]+?)(?:\.py|/)?`", match[2])
            table[int(match[1])] = tuple(room for room in rooms)
    assert table == {level: tuple(rooms) for level, rooms in enumerate(FLOORS)}


def test_setup_cfg_installs_every_package():
    """A package left out of setup.cfg's list works in a checkout (editable install) and is missing from a wheel."""
    import configparser

    config = configparser.ConfigParser()
    config.read(PACKAGE.parent / "setup.cfg")
    listed = set(config["options"]["packages"].split())
    packages = {".".join(path.parent.relative_to(PACKAGE.parent).parts) for path in PACKAGE.rglob("__init__.py")}
    assert packages <= listed, f"add to setup.cfg [options] packages: {sorted(packages - listed)}"

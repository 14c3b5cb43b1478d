"""The ``lift2d3d`` command: a thin dispatcher over the library.

Each sub-command lives in ``lift2d3d/commands/<name>.py`` and defines
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``; heavy
imports stay inside ``run`` so that ``lift2d3d --help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from . import __version__, commands


def _command_modules():
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"{commands.__name__}.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lift2d3d",
        description="Lift 2D human keypoints to 3D with sparse shape bases (convex relaxation + refinement).")
    parser.add_argument("--version", action="version", version=f"lift2d3d {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        command = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except KeyboardInterrupt:
        print("lift2d3d: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

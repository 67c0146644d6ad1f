"""The `framechain` command line: one sub-command per module in `engine/commands/`.

Each command module defines NAME, HELP, `add_arguments(parser)` and `run(args) -> int`.
Known errors (FramechainError) print one line and exit 2; Ctrl-C exits 130.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from precompute.errors import FramechainError

__all__ = ["main", "build_parser"]


def _command_modules():
    import engine.commands as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"engine.commands.{info.name}")
        if hasattr(module, "NAME") and hasattr(module, "run"):
            yield module


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="framechain",
        description="Endless, controllable video from a short clip (video textures and sprites).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except FramechainError as error:
        print(f"framechain: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("framechain: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `framechain` command line: one sub-command per module in `engine/commands/`.

Each command module defines NAME, HELP, `add_arguments(parser)` and `run(args) -> int`.
Every numeric option is checked before the command runs (engine.commands._common.LIMITS).
Known errors (FramechainError, and OSError such as a full disk or a read-only folder) print one
line and exit 2; Ctrl-C exits 130. A mistyped option prints the sub-command's usage.
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


def _command_module(name: str):
    """The module of command `name` when a module of that name defines it, else None: a
    command does not pay for importing all the others (issue 17)."""
    import engine.commands as package

    module_name = name.replace("-", "_")
    if module_name.startswith("_") or module_name not in {
            info.name for info in pkgutil.iter_modules(package.__path__)}:
        return None
    module = importlib.import_module(f"engine.commands.{module_name}")
    return module if getattr(module, "NAME", None) == name and hasattr(module, "run") else None


class _HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default in --help, unless it has none (None, False) or its help
    already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if ("default" in text or default in (None, False, argparse.SUPPRESS)
                or not action.option_strings or text == argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"


class _VersionAction(argparse.Action):
    """--version, looked up when asked for: importlib.metadata costs ~20 ms at every start."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show program's version number and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser._print_message(f"framechain {_version()}\n", sys.stdout)
        parser.exit()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("framechain")
    except Exception:  # a source tree that is not installed
        return "dev"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line; `only`: a command name, whose sub-parser alone is built when it
    is one (what `main` does for `framechain COMMAND ...`; help and errors build them all)."""
    from engine.commands._common import add_quiet_argument

    parser = argparse.ArgumentParser(
        prog="framechain",
        description="Endless, controllable video from a short clip (video textures and sprites).",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser._commands = {}  # name -> its parser: errors print the sub-command's usage
    single = _command_module(only) if only is not None else None
    for module in [single] if single is not None else _command_modules():
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP,
                           formatter_class=_HelpFormatter)
        module.add_arguments(p)
        add_quiet_argument(p)
        p.set_defaults(_run=module.run)
        parser._commands[module.NAME] = p
    return parser


def main(argv: list[str] | None = None) -> int:
    from engine.commands._common import check_numbers

    words = sys.argv[1:] if argv is None else list(argv)
    first = next((word for word in words if not word.startswith("-")), None)
    asked_help = any(word in ("-h", "--help", "--version") for word in words[:1])
    parser = build_parser(None if asked_help else first)
    if first is not None and first not in parser._commands:  # not a command: the full parser
        parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    command = parser._commands[args.command]
    if unknown:  # argparse would print the top-level usage: this command's is the useful one
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        check_numbers(command, args, args.command)
        code = int(args._run(args) or 0)
        if argv is None:  # run as the program: the work is done and its files are in place,
            # so a Ctrl-C while the interpreter joins idle worker threads at exit is ignored
            # rather than printed as a traceback (in-process callers keep their handler)
            import gc
            import signal

            signal.signal(signal.SIGINT, signal.SIG_IGN)
            # and the interpreter's collections at exit, which walk every object numba, scipy
            # and PyAV made (~0.1 s of CPU) only to free memory the system takes back anyway,
            # are skipped (issue 17): nothing is left to flush (outputs are closed and renamed)
            gc.freeze()
        return code
    except FramechainError as error:
        print(f"framechain: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a read-only folder: one line, not a traceback
        from precompute.files import os_error_message

        where = f"{error.filename}: " if error.filename else ""
        print(f"framechain: error: {where}{os_error_message(error)}; nothing was changed there",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("framechain: interrupted (nothing was left half-written)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The salesplan command: sales planning from the shell, by module (docs/cli.md).

    salesplan <module> <command> [options]

Every module of the library adds its commands as a submodule of this package (target.py:
`salesplan target ...`), listed in MODULES; each has `NAME`, `HELP` and
`register(subparsers)`, which adds its parser with `add_module` and its commands with
`add_command`, each command's function taking (args, env) and returning an exit status.

The shared layer: csvin (CSV input into typed columns), jsonin (JSON input), out (CSV,
JSON or table output, written atomically), progress (a bar on stderr when it is a
terminal), errors (CliInputError, the exit codes).

Exit codes: 0 done; 1 the library refused the work (SalesplanError); 2 a bad command line;
3 a bad input file (CliInputError); 4 the store or the output file failed (StorageError,
CorruptError, an output file that cannot be written); 130 interrupted. Every error is one
line on stderr starting "salesplan: "; a command that fails writes no output file and
leaves its store as it was.
"""
import argparse
import decimal
import importlib
import re
import sys

from .errors import (EXIT_INPUT, EXIT_INTERRUPTED, EXIT_LIBRARY, EXIT_OK, EXIT_STORAGE,
                     EXIT_USAGE, CliInputError, CliOutputError, CliUsageError)

__all__ = ["main", "build_parser", "Env", "add_module", "add_command", "add_input_options",
           "add_output_options", "money_arg", "int_arg", "rate_arg", "date_arg", "MODULES", "EXIT_OK",
           "EXIT_LIBRARY", "EXIT_USAGE", "EXIT_INPUT", "EXIT_STORAGE", "EXIT_INTERRUPTED"]

# The modules whose commands the salesplan command has (salesplan.cli.<name>).
MODULES = ("target", "commission")

EPILOG = """\
exit codes: 0 done, 1 the library refused the work, 2 bad command line, 3 bad input file,
4 the store or the output file failed, 130 interrupted. Errors are one line on stderr.

examples:
  salesplan target decompose --help
  salesplan target show --store plans --plan FY2027 --format csv
  salesplan commission run --plan plan.json --facts lines.csv --period 2027-01
"""


class Env:
    """What a command writes to: stdout (its result), stderr (progress), and whether a
    progress bar is wanted (None: when stderr is a terminal)."""

    def __init__(self, stdout=None, stderr=None, progress=None):
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.progress = progress

    def bar(self, label):
        """A progress bar on stderr (None when not wanted): progress.bar."""
        from . import progress
        return progress.bar(label, self.stderr, self.progress)


class _Parser(argparse.ArgumentParser):
    """argparse, with errors raised as one-line CliUsageError (exit 2) instead of a usage
    block, and help that keeps the epilog's examples as written."""

    def __init__(self, *a, **kw):
        kw.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*a, **kw)

    def error(self, message):
        name = self.prog[len("salesplan"):].strip()
        where = f"{name}: " if name else ""
        raise CliUsageError(f"{where}{message} (see '{self.prog} --help')")


def money_arg(text: str) -> decimal.Decimal:
    """An amount given on the command line: a decimal number in major units, exactly."""
    s = text.strip()
    if not re.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", s):
        raise argparse.ArgumentTypeError(f"expected a decimal amount such as 1200000.00, "
                                         f"found {text!r}")
    return decimal.Decimal(s)


def rate_arg(text: str) -> decimal.Decimal:
    """A rate given on the command line: a decimal (0.05) or a percentage (5%), exactly."""
    s = text.strip()
    percent = s.endswith("%")
    body = s[:-1].strip() if percent else s
    if not re.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", body):
        raise argparse.ArgumentTypeError(f"expected a rate such as 0.05 or 5%, found {text!r}")
    d = decimal.Decimal(body)
    return d.scaleb(-2) if percent else d


def date_arg(text: str):
    """A date given on the command line: YYYY-MM-DD."""
    import datetime
    s = text.strip()
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", s):
            raise ValueError
        return datetime.date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, found {text!r}") \
            from None


def int_arg(text: str) -> int:
    """An integer given on the command line."""
    if not re.fullmatch(r"[+-]?[0-9]+", text.strip()):
        raise argparse.ArgumentTypeError(f"expected an integer, found {text!r}")
    return int(text)


def add_module(subparsers, name: str, help: str, description: str = None,
               epilog: str = None):
    """The parser of module `name` (salesplan <name> ...) and its command subparsers."""
    p = subparsers.add_parser(name, help=help, description=description or help,
                              epilog=epilog)
    commands = p.add_subparsers(dest="command", metavar="<command>", title="commands")
    commands.required = True
    return commands


def add_command(commands, name: str, func, help: str, description: str = None,
                epilog: str = None):
    """A command of a module: its parser, running func(args, env) -> exit status."""
    p = commands.add_parser(name, help=help, description=description or help,
                            epilog=epilog)
    p.set_defaults(func=func)
    return p


def add_input_options(p):
    """--encoding and --date-format, for commands that read CSV or JSON files."""
    g = p.add_argument_group("input files")
    g.add_argument("--encoding", default="utf-8", metavar="NAME",
                   help="text encoding of the input files (default utf-8; cp1252, gb18030, "
                        "any Python codec name)")
    g.add_argument("--date-format", default=None, metavar="FORMAT",
                   help="strftime format of the dates in CSV files (default ISO "
                        "YYYY-MM-DD; for example %%d/%%m/%%Y)")
    return g


def add_output_options(p):
    """--format, --output and --progress/--no-progress, for commands that print a
    result."""
    from .out import FORMATS
    g = p.add_argument_group("output")
    g.add_argument("--format", choices=FORMATS, default="table",
                   help="table (aligned, the default), csv or json")
    g.add_argument("--output", "-o", default=None, metavar="FILE",
                   help="write the result to FILE (atomically: all or nothing) instead "
                        "of stdout")
    g.add_argument("--progress", dest="progress", action="store_true", default=None,
                   help="draw a progress bar on stderr (default: when it is a terminal)")
    g.add_argument("--no-progress", dest="progress", action="store_false",
                   help="never draw a progress bar")
    return g


def build_parser() -> argparse.ArgumentParser:
    """The parser of the whole command, with every module of MODULES."""
    from .. import __version__, library_version
    parser = _Parser(prog="salesplan",
                     description="Sales planning from the shell: exact targets, saved "
                                 "in a file store, and commissions.",
                     epilog=EPILOG)
    parser.add_argument("--version", action="version",
                        version=f"salesplan {__version__} (library {library_version})")
    modules = parser.add_subparsers(dest="module", metavar="<module>", title="modules")
    modules.required = True
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(modules)
    return parser


def _one_line(text) -> str:
    return " ".join(str(text).split()) or "error"


def main(argv=None, *, stdout=None, stderr=None) -> int:
    """Run the command with argv (default sys.argv[1:]); returns the exit status.

    stdout and stderr default to sys.stdout and sys.stderr."""
    env = Env(stdout, stderr)
    from ..errors import CorruptError, SalesplanError, StorageError
    try:
        parser = build_parser()
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:     # --help, --version
            return e.code if isinstance(e.code, int) else EXIT_OK
        env.progress = getattr(args, "progress", None)
        return args.func(args, env) or EXIT_OK
    except CliUsageError as e:
        return _fail(env, e, EXIT_USAGE)
    except CliInputError as e:
        return _fail(env, e, EXIT_INPUT)
    except CliOutputError as e:
        return _fail(env, e, EXIT_STORAGE)
    except (StorageError, CorruptError) as e:
        return _fail(env, e, EXIT_STORAGE)
    except SalesplanError as e:
        return _fail(env, e, EXIT_LIBRARY)
    except KeyboardInterrupt:
        return _fail(env, "interrupted", EXIT_INTERRUPTED)


def _fail(env, error, code):
    try:
        env.stderr.write(f"salesplan: {_one_line(error)}\n")
        env.stderr.flush()
    except (OSError, ValueError):
        pass
    return code


if __name__ == "__main__":
    sys.exit(main())

"""The salesplan command: subcommands by module (docs/cli.md)."""
import argparse
import sys

from . import __version__, library_version


def main(argv=None):
    """Run the command with argv (default sys.argv[1:]); returns the exit status."""
    parser = argparse.ArgumentParser(prog="salesplan", description=__doc__)
    parser.add_argument("--version", action="version",
                        version=f"salesplan {__version__} (library {library_version})")
    parser.parse_args(argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())

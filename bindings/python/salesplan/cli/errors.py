"""The errors of the salesplan command and its exit codes (docs/cli.md, "Exit codes")."""

__all__ = ["CliInputError", "CliUsageError", "CliOutputError", "EXIT_OK", "EXIT_LIBRARY", "EXIT_USAGE",
           "EXIT_INPUT", "EXIT_STORAGE", "EXIT_INTERRUPTED"]

EXIT_OK = 0            # done
EXIT_LIBRARY = 1       # the library refused the work (a SalesplanError other than below)
EXIT_USAGE = 2         # a bad command line (argparse)
EXIT_INPUT = 3         # a bad input file (CliInputError)
EXIT_STORAGE = 4       # the store failed (StorageError, CorruptError), or the output file
EXIT_INTERRUPTED = 130  # interrupted (Ctrl-C)


class CliInputError(Exception):
    """An input file is not what the command expects.

    Attributes: path (the file's name as given), line (1-based, None when the file as a
    whole is wrong: unreadable), column (1-based: a CSV field's number, a JSON character
    column; None with line), expected and found (texts). str() is one line:

        nodes.csv:4:2: expected parent: an id (not empty), found an empty field
        nodes.csv: expected a readable file, found no such file or directory
    """

    def __init__(self, path, line, column, expected: str, found: str):
        self.path, self.line, self.column = str(path), line, column
        self.expected, self.found = expected, found
        super().__init__(str(self))

    def __str__(self):
        where = self.path
        if self.line is not None:
            where += f":{self.line}:{self.column if self.column is not None else 1}"
        return f"{where}: expected {self.expected}, found {self.found}"


class CliUsageError(Exception):
    """A bad command line: a missing or unknown option, a value of the wrong form
    (exit 2). The text names the command and the option."""


class CliOutputError(Exception):
    """The output file could not be written (exit 4); nothing was written."""

    def __init__(self, path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{path}: cannot write: {reason}")

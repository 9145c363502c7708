"""A progress bar on stderr for long work, only when stderr is a terminal.

    bar = progress.bar("decompose")        # None when stderr is not a terminal
    set_ = plan.decompose(total, progress=bar)
    progress.finish(bar)

A Bar is a callable(done, total), as the package's `progress=` arguments take; it returns
None (never asks the work to stop). It redraws only when the shown value changes, and
finish() clears its line so that the next message starts on a clean line.
"""
import sys

__all__ = ["Bar", "bar", "finish"]


class Bar:
    """A progress bar drawn on `stream` with carriage returns:

        decompose [############            ]  50% 6/12
    """

    def __init__(self, label: str, stream=None, width: int = 24):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self._shown = None
        self._drawn = False

    def __call__(self, done: int, total: int):
        done, total = int(done), int(total)
        if total > 0:
            done = max(0, min(done, total))
            filled = self.width * done // total
            percent = 100 * done // total
            text = (f"{self.label} [{'#' * filled}{' ' * (self.width - filled)}] "
                    f"{percent:3d}% {done}/{total}")
        else:
            text = f"{self.label} {done}"
        if text != self._shown:
            self._shown = text
            self.stream.write("\r" + text + "\x1b[K")
            self.stream.flush()
            self._drawn = True
        return None

    def finish(self):
        """Clear the bar's line (idempotent)."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
            self._shown = None


def bar(label: str, stream=None, enabled: bool = None):
    """A Bar on `stream` (stderr by default), or None when the stream is not a terminal.

    enabled: True or False forces the choice (--progress / --no-progress)."""
    stream = stream if stream is not None else sys.stderr
    if enabled is None:
        try:
            enabled = stream.isatty()
        except (AttributeError, ValueError):
            enabled = False
    return Bar(label, stream) if enabled else None


def finish(b):
    """Clear the bar b (None is accepted)."""
    if b is not None:
        b.finish()

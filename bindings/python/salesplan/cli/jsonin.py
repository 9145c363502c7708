"""JSON input files of the salesplan command (settings documents).

read_json gives the parsed value (numbers with a fraction as decimal.Decimal, exactly)
and the decoded text, which the command passes on to the library unchanged. A file that
is not JSON raises CliInputError at the line and character column where parsing stopped:

    settings.json:3:18: expected ',' delimiter, found "}"
"""
import decimal
import json

from .csvin import decode, quote, read_bytes
from .errors import CliInputError

__all__ = ["read_json"]


def read_json(path, *, encoding: str = "utf-8", data: bytes = None):
    """(value, text) of the JSON file at `path`, decoded with `encoding`.

    Raises CliInputError for an unreadable file, bytes that are not text in the
    encoding, an empty file, or text that is not one JSON value (the position is the
    line and the 1-based character column)."""
    if data is None:
        data = read_bytes(path)
    text = decode(path, data, encoding, fields=False)
    if not text.strip():
        raise CliInputError(path, 1, 1, "a JSON value", "an empty file")
    try:
        value = json.loads(text, parse_float=decimal.Decimal,
                           parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        msg = e.msg
        if msg.startswith("Expecting "):
            expected = msg[len("Expecting "):]
        elif msg == "Extra data":
            expected = "end of file after the JSON value"
        else:
            expected = f"JSON ({msg[:1].lower() + msg[1:]})"
        at = e.pos
        found = quote(text[at]) if at < len(text) else "end of file"
        raise CliInputError(path, e.lineno, e.colno, expected, found) from None
    except ValueError as e:  # NaN, Infinity
        line, col = _position(text, str(e))
        raise CliInputError(path, line, col, "a JSON number", quote(str(e))) from None
    return value, text


def _no_constant(name):
    raise ValueError(name)


def _position(text, word):
    at = text.find(word)
    if at < 0:
        return 1, 1
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1

"""Reading JSON Kinora did not write itself (project files, bundle members, manifests) without
trusting it: a size cap, nesting measured before any parser recurses, NaN and Infinity refused,
and every failure one ProjectFileError naming the file."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from engine.errors import ProjectFileError

MAX_FILE_BYTES = 64 * 1024 * 1024


def read_json_file(path: str) -> Any:
    """Read a size-capped JSON file; every failure is a ProjectFileError naming the file."""
    try:
        size = os.path.getsize(path)
        if size > MAX_FILE_BYTES:
            raise ProjectFileError(f"{path} is {size / 2**20:.0f} MiB; project files over "
                                   f"{MAX_FILE_BYTES // 2**20} MiB are refused (is this really a project file?)")
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ProjectFileError(f"{path} does not exist; check the path or open another project") from None
    except IsADirectoryError:
        raise ProjectFileError(f"{path} is a folder, not a project file") from None
    except OSError as error:
        raise ProjectFileError(f"{path} cannot be read: {error.strerror or error}") from None
    return parse_json_bytes(raw, path)


_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"')
_NOT_A_BRACKET = bytes(byte for byte in range(256) if byte not in b"[]{}")


def json_nesting_exceeds(raw: bytes, limit: int) -> bool:
    """Whether JSON text nests arrays and objects more than `limit` deep, found without parsing
    it: a parser in C or C++ (OpenTimelineIO's) recurses once per level and can crash the
    process on a small file of brackets, before any Python error could be raised."""
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_A_BRACKET):
        if byte == 91 or byte == 123:  # [ {
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str) -> None:
    raise _NotFinite(name)


def parse_json_bytes(raw: bytes, where: str) -> Any:
    """JSON from untrusted bytes (a file, a bundle member): every failure is a ProjectFileError
    naming `where`. NaN and Infinity are refused here; floats that overflow to infinity (1e400)
    are refused where numbers are read (_number, _curve, _check_depth)."""
    if len(raw) > MAX_FILE_BYTES:
        raise ProjectFileError(f"{where} is over {MAX_FILE_BYTES // 2**20} MiB; project files that large are refused")
    if not raw.strip():
        raise ProjectFileError(f"{where} is empty; it may have been cut short by a crash — open a backup")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ProjectFileError(f"{where} is not a text file; is it really a Kinora project?") from None
    except json.JSONDecodeError as error:
        raise ProjectFileError(f"{where} is damaged: bad JSON at line {error.lineno}, column {error.colno}") from None
    except _NotFinite as error:
        raise ProjectFileError(f"{where} is damaged: it holds {error} where a number belongs; "
                               "no Kinora field accepts one") from None
    except ValueError as error:  # an integer of thousands of digits (Python's int conversion limit)
        raise ProjectFileError(f"{where} is damaged: {str(error).split(';')[0]}") from None
    except RecursionError:
        raise ProjectFileError(f"{where} is nested too deeply to be a Kinora project") from None

"""Kinora's version, for `kinora --version`, About, files and provenance tags Kinora writes.

One place holds it: pyproject.toml. An installed Kinora reads it from its package metadata
(made from pyproject.toml when installed); a source tree that was never installed, or a
bundled build without the metadata, reads pyproject.toml itself.
"""

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


@cache
def kinora_version() -> str:
    try:
        return version("kinora")
    except PackageNotFoundError:
        return source_version() or "0+unknown"


def source_version() -> str | None:
    """The version written in pyproject.toml beside the sources, or None without one."""
    import tomllib

    try:
        with open(PYPROJECT, "rb") as file:
            return str(tomllib.load(file)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return None

"""The installed Kinora version, for files and provenance tags Kinora writes."""

from importlib.metadata import PackageNotFoundError, version


def kinora_version() -> str:
    try:
        return version("kinora")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"

"""Where Kinora keeps its own files. KINORA_CACHE_DIR / KINORA_DATA_DIR override the platform
folders (tests and portable installs use them)."""

from __future__ import annotations

import os


def cache_dir(*parts: str) -> str:
    import platformdirs

    return _ensure(os.environ.get("KINORA_CACHE_DIR") or platformdirs.user_cache_dir("kinora"), parts)


def data_dir(*parts: str) -> str:
    import platformdirs

    return _ensure(os.environ.get("KINORA_DATA_DIR") or platformdirs.user_data_dir("kinora"), parts)


def _ensure(root: str, parts: tuple[str, ...]) -> str:
    path = os.path.join(root, *parts)
    os.makedirs(path, exist_ok=True)
    return path

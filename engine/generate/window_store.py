"""Finished windows of a chain, kept in the job's folder so a killed or failed job resumes.

A chain (engine.generate.chain) commits each window's latents as soon as it is sampled, under a
key of everything that decides them (the plan, the settings, the seed, the model). The same job
run again (after kill -9, a crash or running out of memory) finds the windows it finished and
starts at the first missing one; a different request that happens to write the same output
clears the folder first. The folder goes once the job's files are written.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, NamedTuple

from engine.fsutil import atomic_path


def chain_key(plan_summary: dict, settings: dict, model: str, windows: list[dict]) -> str:
    text = json.dumps({"plan": plan_summary, "settings": settings, "model": model, "windows": windows},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


class StoredWindow(NamedTuple):
    latents: Any  # torch (1, C, n, h, w)
    audio_latents: Any = None  # a model that makes sound: (1, n, D)
    first_stage_latents: Any = None  # a two-stage model: its first stage's, at half the size


def windows_folder(output: Path) -> Path:
    """Where the job writing `output` keeps its finished windows: hidden, beside the output."""
    return output.with_name(f".{output.name}.windows")


class WindowStore:
    def __init__(self, folder: Path, key: str, recipe: dict | None = None):
        self.folder, self.key = Path(folder), key
        index = self.folder / "chain.json"
        try:
            known = json.loads(index.read_text(encoding="utf-8")).get("key")
        except (OSError, ValueError, AttributeError):
            known = None
        if known != key:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(index) as temp:
                Path(temp).write_text(json.dumps({"key": key, "recipe": recipe or {}}), encoding="utf-8")

    def path(self, index: int) -> Path:
        return self.folder / f"window-{index:03d}.safetensors"

    def load(self, index: int) -> StoredWindow | None:
        """Window `index` as committed, or None."""
        from safetensors import safe_open

        file = self.path(index)
        if not file.is_file():
            return None
        try:
            with safe_open(str(file), framework="pt") as f:
                if (f.metadata() or {}).get("key") != self.key:
                    return None
                names = set(f.keys())
                return StoredWindow(*(f.get_tensor(name) if name in names else None
                                      for name in ("latents", "audio_latents", "first_stage_latents")))
        except (OSError, ValueError, RuntimeError):
            return None  # a torn or foreign file: the window is made again

    def commit(self, index: int, latents, window: dict, audio_latents=None, first_stage_latents=None) -> None:
        from safetensors.torch import save_file

        tensors = {name: value.detach().float().cpu().contiguous() for name, value in
                   (("latents", latents), ("audio_latents", audio_latents), ("first_stage_latents", first_stage_latents))
                   if value is not None}
        with atomic_path(self.path(index)) as temp:
            save_file(tensors, temp, metadata={"key": self.key, "window": json.dumps(window)})



def remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)

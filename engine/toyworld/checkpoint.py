"""Training checkpoints: weights, Adam moments and the run's progress, written atomically so a run
stopped at any moment continues with `--resume` from the last one."""

from __future__ import annotations

import json
import os
from pathlib import Path

CHECKPOINT = "checkpoint.safetensors"
PROGRESS = "progress.json"
OPTIMIZERS = ("optimizer", "decoder_optimizer")  # checkpoint prefixes: stage 1 or 2's Adam moments, stage 3's


def optimizer_tensors(optimizer, prefix: str = "optimizer") -> dict:
    """An optimiser's Adam moments as named tensors (parameters in the optimiser's own order)."""
    tensors = {}
    params = [p for group in optimizer.param_groups for p in group["params"]]
    for i, p in enumerate(params):
        for key, value in optimizer.state.get(p, {}).items():
            if hasattr(value, "shape"):
                tensors[f"{prefix}.{i}.{key}"] = value.detach().float().reshape(value.shape).contiguous().clone()
    return tensors


def save_checkpoint(folder: Path, modules: dict, moments: dict, progress: dict) -> None:
    """Weights and optimiser moments (see `optimizer_tensors`) in one safetensors file and the
    position in progress.json, each replaced atomically so a run killed mid-write resumes from the
    previous checkpoint."""
    from safetensors.torch import save_file

    tensors = dict(moments)
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}.{key}"] = value.detach().contiguous().clone()
    tmp = folder / (CHECKPOINT + ".tmp")
    save_file(tensors, str(tmp))
    os.replace(tmp, folder / CHECKPOINT)
    tmp = folder / (PROGRESS + ".tmp")
    tmp.write_text(json.dumps(progress, indent=1), encoding="utf-8")
    os.replace(tmp, folder / PROGRESS)


def load_checkpoint(folder: Path, modules: dict) -> tuple[dict, dict]:
    """Load weights into `modules` (a module the checkpoint has no weights for is left as it is);
    returns (progress, optimiser tensors)."""
    from safetensors.torch import load_file

    tensors = load_file(str(folder / CHECKPOINT))
    for name, module in modules.items():
        prefix = name + "."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if state:
            module.load_state_dict(state)
    optimizer_state = {k: v for k, v in tensors.items() if k.split(".", 1)[0] in OPTIMIZERS}
    return json.loads((folder / PROGRESS).read_text(encoding="utf-8")), optimizer_state


def checkpoint_model(folder: Path) -> dict | None:
    """The model configuration (ModelConfig.to_json) of the run in `folder`, or None if it has no checkpoint yet."""
    if not (folder / PROGRESS).is_file():
        return None
    return json.loads((folder / PROGRESS).read_text(encoding="utf-8"))["model_config"]


def restore_optimizer(optimizer, saved: dict, step: int, prefix: str = "optimizer") -> None:
    """Put saved Adam moments back (parameters in the optimiser's own order)."""
    import torch

    params = [p for group in optimizer.param_groups for p in group["params"]]
    for i, p in enumerate(params):
        avg, sq = saved.get(f"{prefix}.{i}.exp_avg"), saved.get(f"{prefix}.{i}.exp_avg_sq")
        if avg is not None and sq is not None:
            optimizer.state[p] = {"step": torch.tensor(float(step)), "exp_avg": avg.to(p.device, copy=True),
                                  "exp_avg_sq": sq.to(p.device, copy=True)}

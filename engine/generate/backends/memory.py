"""Device memory: recognising running out of it, giving it back, and moving a component onto the
device only while it is used (offloading). Below the backends and what they share, so any of them
can use it."""

from __future__ import annotations

import contextlib
import gc


def is_out_of_memory(error: BaseException) -> bool:
    """Any way running out of memory shows: CUDA's OutOfMemoryError, Python's and NumPy's
    MemoryError (whose message may be empty), and torch's CPU allocator, which raises a plain
    RuntimeError "DefaultCPUAllocator: can't allocate memory"."""
    import torch

    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(error).lower()
    return "out of memory" in text or "can't allocate memory" in text or "cannot allocate memory" in text


def free_memory() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


_HELD: set[int] = set()  # the components an on_device block holds on the device now


@contextlib.contextmanager
def on_device(module, device, offload: bool):
    """Move a component to `device` for the duration of its use when offloading; else leave it.
    A block inside another for the same component leaves it where the outer one put it (the
    keyframe fit encodes a picture while it holds the VAE for its decodes)."""
    if not offload or module is None or id(module) in _HELD:
        yield module
        return
    module.to(device)
    _HELD.add(id(module))
    try:
        yield module
    finally:
        _HELD.discard(id(module))
        module.to("cpu")
        free_memory()

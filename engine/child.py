"""Starting a Kinora module in a child process so that no user folder can stand in for Kinora.

`python -m engine.x` puts the current folder first on the import path, so an `engine/`
folder in it (carried in by a bundle, say) would run instead of Kinora's code. A child is
started in isolated mode (`-I`: no current folder, no PYTHONPATH, no user site-packages) and
told the absolute folder Kinora itself was imported from, which goes first on its path.
"""

from __future__ import annotations

import sys
from pathlib import Path

# the folder holding Kinora's `engine` package, as this process imported it
PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)

_BOOTSTRAP = ("import runpy, sys; sys.path.insert(0, sys.argv[1]); module = sys.argv[2]; "
              "sys.argv = [module, *sys.argv[3:]]; runpy.run_module(module, run_name='__main__', alter_sys=True)")


def child_command(module: str, *args: str) -> list[str]:
    """argv that runs `module` (a Kinora module with a `__main__` block) with `args`, isolated."""
    if not module.startswith(("engine.", "editor.")):
        raise ValueError(f"{module} is not a Kinora module")
    return [sys.executable, "-I", "-c", _BOOTSTRAP, PACKAGE_ROOT, module, *args]

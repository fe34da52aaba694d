"""Check a built application: `python packaging/smoke_check.py dist/kinora/kinora`.

Starts the binary's editor under a private Xvfb server and waits for its main window (by its
title, with xdotool), then runs `generate` headless with the bundled model and checks the clip
with PyAV. Prints the folder's size and how long the window took to appear, the figures
docs/benchmarks.md records. Exit status 0 when everything worked.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

WINDOW_WAIT_S = 120


def folder_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total


def free_display() -> int:
    for number in range(90, 200):
        if not os.path.exists(f"/tmp/.X11-unix/X{number}") and not os.path.exists(f"/tmp/.X{number}-lock"):
            return number
    raise RuntimeError("no free X display number")


def check_window(binary: str, home: str) -> float:
    for program in ("Xvfb", "xdotool"):
        if shutil.which(program) is None:
            raise RuntimeError(f"{program} is needed (Debian: xvfb, xdotool)")
    display = f":{free_display()}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "HOME": home,
           "KINORA_DATA_DIR": os.path.join(home, "data"), "KINORA_CACHE_DIR": os.path.join(home, "cache")}
    editor = None
    try:
        time.sleep(1.0)
        started = time.monotonic()
        editor = subprocess.Popen([binary], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        while time.monotonic() - started < WINDOW_WAIT_S:
            found = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Kinora"], env=env,
                                   capture_output=True, text=True)
            if found.stdout.strip():
                return time.monotonic() - started
            if editor.poll() is not None:
                raise RuntimeError("the editor exited before showing its window:\n" + editor.stdout.read().decode()[-3000:])
            time.sleep(0.25)
        raise RuntimeError(f"no Kinora window within {WINDOW_WAIT_S} s")
    finally:
        if editor is not None and editor.poll() is None:
            editor.kill()
            editor.wait()
        server.terminate()
        server.wait()


def check_generate(binary: str, home: str) -> float:
    import av

    out = os.path.join(home, "clip.mp4")
    env = {**os.environ, "HOME": home, "KINORA_DATA_DIR": os.path.join(home, "data"),
           "KINORA_CACHE_DIR": os.path.join(home, "cache")}
    started = time.monotonic()
    result = subprocess.run([binary, "generate", "a red circle moving right on a black background", "-o", out],
                            env=env, capture_output=True, text=True, timeout=900)
    took = time.monotonic() - started
    if result.returncode != 0:
        raise RuntimeError(f"generate failed ({result.returncode}):\n{result.stderr[-3000:]}")
    with av.open(out) as container:
        frames = sum(1 for _ in container.decode(video=0))
    if frames < 2:
        raise RuntimeError(f"{out}: only {frames} frames")
    return took


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(argv[0])
    if not os.access(binary, os.X_OK):
        print(f"{binary}: not an executable; build it with 'make package'", file=sys.stderr)
        return 2
    version = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=300)
    print(f"version: {version.stdout.strip() or version.stderr.strip()}")
    with tempfile.TemporaryDirectory() as home:
        try:
            window_s = check_window(binary, home)
            generate_s = check_generate(binary, home)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"smoke check failed: {error}", file=sys.stderr)
            return 1
    size = folder_size(os.path.dirname(binary))
    print(f"folder size: {size / 2**20:.0f} MiB")
    print(f"editor window after: {window_s:.1f} s")
    print(f"generate (bundled model, defaults): {generate_s:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

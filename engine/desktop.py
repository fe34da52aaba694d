"""`kinora desktop install|uninstall`: Kinora as a desktop application for this user.

Puts the freedesktop files from packaging/linux into the user's XDG data folder
($XDG_DATA_HOME, by default ~/.local/share): the desktop entry (with Exec naming this
installation's `kinora`), the icon in every size, the shared-mime-info types of .kinora and
.kinorabundle files, and the AppStream metainfo. Then the desktop's caches are refreshed
(update-mime-database, update-desktop-database) where those programs exist, so a double-click
on a project opens Kinora. Uninstall removes exactly those files and refreshes the caches again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from engine.errors import UserError

APP_ID = "org.kinora.Kinora"
MIME_TYPES = ("application/x-kinora", "application/x-kinora-bundle")
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
PACKAGING = Path(__file__).resolve().parents[1] / "packaging" / "linux"


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def installed_files(root: Path) -> dict[Path, Path]:
    """Where each packaged file goes under the XDG data folder `root`: destination -> source."""
    icons = PACKAGING / "icons"
    files = {
        root / "applications" / f"{APP_ID}.desktop": PACKAGING / f"{APP_ID}.desktop",
        root / "mime" / "packages" / f"{APP_ID}.xml": PACKAGING / f"{APP_ID}.mime.xml",
        root / "metainfo" / f"{APP_ID}.metainfo.xml": PACKAGING / f"{APP_ID}.metainfo.xml",
        root / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg": icons / f"{APP_ID}.svg",
    }
    for size in ICON_SIZES:
        files[root / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"] = icons / f"{size}.png"
    return files


def icon_path(size: int = 256) -> str:
    """The packaged PNG icon closest to `size` pixels, for the window icon."""
    best = min(ICON_SIZES, key=lambda s: abs(s - size))
    return str(PACKAGING / "icons" / f"{best}.png")


def kinora_command() -> str:
    """The program a desktop entry should start: the bundled binary when frozen, else the
    `kinora` script of this installation (beside this Python), else the one on PATH."""
    if getattr(sys, "frozen", False):
        return sys.executable
    beside = Path(sys.executable).with_name("kinora")
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("kinora")
    if found:
        return os.path.abspath(found)
    raise UserError("cannot find the 'kinora' program of this installation; install Kinora "
                    "(pip install -e .) so that 'kinora' is on PATH, then run 'kinora desktop install' again")


def desktop_entry(command: str) -> str:
    """The packaged desktop entry with Exec and TryExec naming `command` (quoted as the
    Desktop Entry specification asks when the path has spaces or quotes)."""
    quoted = command
    if any(c in command for c in ' \t"\'\\`$'):
        escaped = command.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
        quoted = f'"{escaped}"'
    lines = []
    for line in (PACKAGING / f"{APP_ID}.desktop").read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            line = f"Exec={quoted} %f"
        elif line.startswith("TryExec="):
            line = f"TryExec={command}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def install(root: Path | None = None, command: str | None = None) -> list[Path]:
    """Write the desktop files under `root` (default: the XDG data folder); returns them."""
    root = root or data_home()
    command = command or kinora_command()
    written = []
    for destination, source in installed_files(root).items():
        destination.parent.mkdir(parents=True, exist_ok=True)
        temporary = destination.with_name(destination.name + ".part")
        if source.name.endswith(".desktop"):
            temporary.write_text(desktop_entry(command), encoding="utf-8")
        else:
            shutil.copyfile(source, temporary)
        os.replace(temporary, destination)
        written.append(destination)
    refresh_caches(root)
    return written


def uninstall(root: Path | None = None) -> list[Path]:
    """Remove what install wrote under `root`; returns the files that were there."""
    root = root or data_home()
    removed = []
    for destination in installed_files(root):
        if destination.exists():
            destination.unlink()
            removed.append(destination)
    refresh_caches(root)
    return removed


def refresh_caches(root: Path) -> list[str]:
    """Run the desktop's cache updaters that exist on this machine; returns the ones run."""
    ran = []
    for program, folder in (("update-mime-database", root / "mime"),
                            ("update-desktop-database", root / "applications")):
        executable = shutil.which(program)
        if executable is None or not folder.is_dir():
            continue
        args = [executable, "-q", str(folder)] if program == "update-desktop-database" else [executable, str(folder)]
        subprocess.run(args, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        ran.append(program)
    return ran


def register(subparsers) -> None:
    parser = subparsers.add_parser("desktop", help="add Kinora to this user's application menu and file types")
    parser.add_argument("action", choices=("install", "uninstall"),
                        help="install: menu entry, icon, .kinora/.kinorabundle file types; uninstall: remove them")
    parser.set_defaults(run=_run)


def _run(args) -> int:
    root = data_home()
    if args.action == "install":
        files = install(root)
        print(f"installed {len(files)} files under {root}; Kinora is in the application menu and opens "
              ".kinora and .kinorabundle files")
    else:
        files = uninstall(root)
        print(f"removed {len(files)} files under {root}")
    return 0

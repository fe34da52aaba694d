"""Kinora as a desktop application: the packaged freedesktop files validate with the desktop's
own validators, `kinora desktop install` writes exactly them into an XDG tree (and the desktop
then answers Kinora for .kinora files), uninstall removes them, and the version is one."""

import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from engine import cli, desktop
from engine.version import kinora_version

REPO = Path(__file__).resolve().parents[1]
PACKAGING = REPO / "packaging" / "linux"


def _need(program):
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed (Debian: see the README's test packages)")
    return path


def test_desktop_entry_validates():
    result = subprocess.run([_need("desktop-file-validate"), str(PACKAGING / f"{desktop.APP_ID}.desktop")],
                            capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_metainfo_validates():
    result = subprocess.run([_need("appstreamcli"), "validate", "--no-net", "--explain",
                             str(PACKAGING / f"{desktop.APP_ID}.metainfo.xml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "E:" not in result.stdout and "W:" not in result.stdout, result.stdout


def test_one_version_in_pyproject_metainfo_cli_and_about(capsys):
    with open(REPO / "pyproject.toml", "rb") as file:
        version = tomllib.load(file)["project"]["version"]
    assert kinora_version() == version
    releases = ET.parse(PACKAGING / f"{desktop.APP_ID}.metainfo.xml").getroot().find("releases")
    assert releases[0].get("version") == version, "the newest release in the metainfo must be pyproject's version"
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip() == f"kinora {version}"
    from editor.actions import about_text

    assert version in about_text()


def test_icons_exist_in_every_declared_size():
    from PIL import Image

    for size in desktop.ICON_SIZES:
        with Image.open(desktop.icon_path(size)) as image:
            assert image.size == (size, size) and image.mode == "RGBA"
    svg = ET.parse(PACKAGING / "icons" / f"{desktop.APP_ID}.svg").getroot()
    assert svg.tag.endswith("svg")


@pytest.fixture
def xdg(tmp_path, monkeypatch):
    data, config = tmp_path / "data", tmp_path / "config"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    # Only the temporary tree and the system's own database (for the types Kinora's derive from).
    monkeypatch.setenv("XDG_DATA_DIRS", f"{data}:/usr/share")
    return data


def test_install_writes_exactly_the_packaged_files_and_uninstall_removes_them(xdg, tmp_path):
    program = tmp_path / "bin dir" / "kinora"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    written = desktop.install(xdg, command=str(program))
    expected = {
        "applications/org.kinora.Kinora.desktop",
        "mime/packages/org.kinora.Kinora.xml",
        "metainfo/org.kinora.Kinora.metainfo.xml",
        "icons/hicolor/scalable/apps/org.kinora.Kinora.svg",
        *(f"icons/hicolor/{s}x{s}/apps/org.kinora.Kinora.png" for s in desktop.ICON_SIZES),
    }
    assert {str(p.relative_to(xdg)) for p in written} == expected
    for destination, source in desktop.installed_files(xdg).items():
        if not destination.name.endswith(".desktop"):
            assert destination.read_bytes() == source.read_bytes()
    entry = (xdg / "applications" / "org.kinora.Kinora.desktop").read_text()
    assert f'Exec="{program}" %f' in entry  # the path has a space: quoted as the spec asks
    assert f"TryExec={program}\n" in entry
    validate = shutil.which("desktop-file-validate")
    if validate:
        result = subprocess.run([validate, str(xdg / "applications" / "org.kinora.Kinora.desktop")],
                                capture_output=True, text=True)
        assert result.returncode == 0 and not result.stdout.strip(), result.stdout

    removed = desktop.uninstall(xdg)
    assert {str(p.relative_to(xdg)) for p in removed} == expected
    ours = [p for p in xdg.rglob("*") if p.is_file() and "org.kinora.Kinora" in p.name]
    assert not ours
    # The refreshed mime database no longer knows the types.
    assert not (xdg / "mime" / "application" / "x-kinora.xml").exists()


def test_the_desktop_opens_kinora_projects_with_kinora_after_install(xdg, tmp_path):
    query = _need("xdg-mime")
    _need("update-mime-database")
    _need("update-desktop-database")
    desktop.install(xdg, command=sys.executable)
    answer = subprocess.run([query, "query", "default", "application/x-kinora"], capture_output=True, text=True)
    assert answer.stdout.strip() == "org.kinora.Kinora.desktop", answer.stdout + answer.stderr
    answer = subprocess.run([query, "query", "default", "application/x-kinora-bundle"], capture_output=True, text=True)
    assert answer.stdout.strip() == "org.kinora.Kinora.desktop"
    # A file manager names the type from the shared-mime-info database: ask Qt's reader of it,
    # in a fresh process so it reads this XDG tree.
    project = tmp_path / "film.kinora"
    project.write_text('{"schema": "Project.1"}')
    bundle = tmp_path / "film.kinorabundle"
    bundle.write_bytes(b"PK\x05\x06" + bytes(18))
    script = ("import sys; from PySide6.QtCore import QMimeDatabase; db = QMimeDatabase(); "
              "print(*(db.mimeTypeForFile(p).name() for p in sys.argv[1:]))")
    answer = subprocess.run([sys.executable, "-c", script, str(project), str(bundle)], capture_output=True, text=True)
    assert answer.stdout.split() == ["application/x-kinora", "application/x-kinora-bundle"], answer.stderr
    desktop.uninstall(xdg)
    answer = subprocess.run([query, "query", "default", "application/x-kinora"], capture_output=True, text=True)
    assert answer.stdout.strip() == ""


def test_desktop_command_line_installs_into_xdg_data_home(xdg, capsys):
    assert cli.main(["desktop", "install"]) == 0
    assert "installed 12 files" in capsys.readouterr().out
    assert (xdg / "applications" / "org.kinora.Kinora.desktop").is_file()
    assert cli.main(["desktop", "uninstall"]) == 0
    assert "removed 12 files" in capsys.readouterr().out


def _packages(text: str) -> set[str]:
    words = text.replace("\\\n", " ").split()
    return {w for w in words if re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", w)} - {"sudo", "apt-get", "install"}


def test_readme_lists_exactly_the_debian_packages_ci_installs():
    readme = (REPO / "README.md").read_text()
    requirements = readme[readme.index("## Requirements"):readme.index("## Install as an application")]
    listed = set()
    for block in re.findall(r"```sh\n(.*?)```", requirements, re.S):
        for line in block.splitlines():
            if "apt-get install" in line:
                listed |= _packages(line.split("apt-get install", 1)[1])
    ci = (REPO / ".ci" / "run").read_text()
    command = ci[ci.index("apt-get install"):]
    command = command[:command.index(">/dev/null")].split("install", 1)[1]
    installed = {w for w in _packages(command) if not w.startswith("-")}
    assert listed and listed == installed, (f"README lacks {sorted(installed - listed)}; "
                                            f".ci/run lacks {sorted(listed - installed)}")


def test_the_bundle_collects_every_diffusers_pipeline_package_the_backends_use():
    """diffusers builds a model's parts by class name from its pipeline package (an LTX-2 model's
    vocoder and text connectors are in diffusers.pipelines.ltx2), which PyInstaller cannot see:
    the spec collects each such package the engine imports from."""
    used = set()
    for path in (REPO / "engine").rglob("*.py"):
        used |= set(re.findall(r"diffusers\.pipelines\.\w+", path.read_text(encoding="utf-8")))
    collected = set(re.findall(r'collect_submodules\("(diffusers\.pipelines\.\w+)"\)',
                               (REPO / "packaging" / "kinora.spec").read_text(encoding="utf-8")))
    assert used and used <= collected, f"packaging/kinora.spec does not collect {sorted(used - collected)}"

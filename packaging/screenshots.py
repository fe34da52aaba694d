"""Take screenshots of the main window for the README and the layout checks, at 1600x960,
1280x800 and 1920x1080: `python packaging/screenshots.py OUT_DIR` (`make screenshots`).

Runs under a real X server when DISPLAY is set (e.g. inside xvfb-run), otherwise offscreen.
The demo project is built in code from clips of Kinora's procedural world, so the screenshot
shows real pictures on every kind of track; settings and the library start empty.
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def demo_media(folder: str) -> dict[str, str]:
    import cv2

    from engine.generate.media_io import write_video
    from engine.toyworld.world import ObjectSpec, SceneSpec, render_scene

    scenes = {
        "sunrise.mp4": SceneSpec((ObjectSpec("yellow", "circle", "moving up", 0.5, 0.8, 0.15),), "sky"),
        "stars.mp4": SceneSpec((ObjectSpec("red", "star", "spinning", 0.3, 0.5, 0.2),
                                ObjectSpec("blue", "square", "moving right", 0.2, 0.3, 0.1)), "black"),
        "meadow.mp4": SceneSpec((ObjectSpec("green", "triangle", "bouncing", 0.5, 0.5, 0.15),), "grass"),
    }
    paths = {}
    os.makedirs(folder, exist_ok=True)
    for name, scene in scenes.items():
        paths[name] = os.path.join(folder, name)
        write_video(paths[name], render_scene(scene, 320, 180, 144), 24)
    paths["card.png"] = os.path.join(folder, "card.png")
    card = render_scene(SceneSpec((ObjectSpec("yellow", "star", "still", 0.5, 0.5, 0.3),), "checkerboard"),
                        320, 180, 1)[0]
    cv2.imwrite(paths["card.png"], card[:, :, ::-1])
    return paths


def demo_project(paths: dict[str, str]):
    from engine.media.ingest import media_ref_for
    from engine.model import edits
    from engine.model.curves import Curve, Keyframe
    from engine.model.items import Clip, Still, TextBlock, new_id
    from engine.model.project import new_project
    from engine.time import FrameRange

    project = new_project(1280, 720, 24)
    refs = {name: media_ref_for(path) for name, path in paths.items()}
    for ref in refs.values():
        edits.add_media(project, ref)
    prompt, video, audio = (project.timeline.tracks_of(kind)[0].id for kind in ("prompt", "video", "audio"))
    edits.add_track(project, "video")
    v2 = project.timeline.tracks_of("video")[0].id
    edits.insert(project, video, Clip(new_id(), 0, refs["sunrise.mp4"].id, FrameRange(0, 120)))
    edits.insert(project, video, Still(new_id(), 168, 72, refs["card.png"].id))
    edits.insert(project, v2, Clip(new_id(), 96, refs["stars.mp4"].id, FrameRange(0, 144), name="stars (generated)",
                                   curve=Curve((Keyframe(0, 0.0), Keyframe(24, 1.0, "smooth"), Keyframe(110, 1.0),
                                                Keyframe(143, 0.2))),
                                   generation={"model": "toyworld", "seed": 7}))
    edits.insert(project, video, Clip(new_id(), 240, refs["meadow.mp4"].id, FrameRange(0, 96)))
    edits.insert(project, prompt, TextBlock(new_id(), 0, 96, "a yellow circle moving up on a sky background"))
    edits.insert(project, prompt, TextBlock(new_id(), 96, 144, "a red star spinning on a black background"))
    edits.insert(project, prompt, TextBlock(new_id(), 240, 96, "a green triangle bouncing on a grass background"))
    return project


# The README's picture, and the main window at a laptop's and a desktop's screen size: the sizes
# the layout is checked at (no clipped text, every dock usable).
SHOTS = {"main-window.png": (1600, 960), "main-window-1280x800.png": (1280, 800),
         "main-window-1920x1080.png": (1920, 1080)}


def _settle(app, until=lambda: True, rounds: int = 200) -> None:
    import time

    for _ in range(rounds):
        app.processEvents()
        if until():
            break
        time.sleep(0.02)


def shoot(app, paths: dict[str, str], size: tuple[int, int], path: str) -> None:
    """One fresh main window at `size` (the first-start layout, not the last shot's), saved to `path`."""
    from PySide6.QtCore import QSettings

    from editor.main_window import MainWindow

    QSettings().clear()  # each shot starts with the default dock layout
    window = MainWindow(demo_project(paths))
    for media in paths.values():
        window.library.library.add_media(media)
    window.library.refresh()
    window.resize(*size)
    window.show()
    view = window.timeline.view
    view.set_zoom(3.2 * size[0] / 1600, 0)
    view.set_playhead(130)
    view.select_ids([item.id for _, item in window.project.timeline.items()
                     if getattr(item, "name", "").startswith("stars")])
    window.curves_dock.raise_()
    _settle(app, lambda: window.preview.screen.image is not None)  # the preview's first frame
    _settle(app, rounds=50)  # and the thumbnails
    window.grab().save(path)
    print(path)
    window.files.autosaver.close()
    window.document.undo_stack.setClean()
    window.close()


def main(out_dir: str) -> int:
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = tempfile.mkdtemp(prefix="kinora-shots-")
    # fresh settings, library and cache, so the screenshot shows the defaults, not the user's
    os.environ["XDG_CONFIG_HOME"] = os.path.join(work, "config")
    os.environ["KINORA_DATA_DIR"] = os.path.join(work, "data")
    os.environ["KINORA_CACHE_DIR"] = os.path.join(work, "cache")
    from PySide6.QtWidgets import QApplication

    from editor.style import apply_style

    app = QApplication([sys.argv[0]])
    apply_style(app)
    paths = demo_media(os.path.join(work, "media"))
    os.makedirs(out_dir, exist_ok=True)
    for name, size in SHOTS.items():
        shoot(app, paths, size, os.path.join(out_dir, name))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))

"""Take screenshots of the main window for the README: `python packaging/screenshots.py OUT_DIR`.

Runs under a real X server when DISPLAY is set (e.g. inside xvfb-run), otherwise offscreen.
The demo project is built in code so the screenshot shows every kind of track and item.
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def demo_project():
    from engine.model import edits
    from engine.model.curves import Curve, Keyframe
    from engine.model.items import Clip, MediaRef, Still, TextBlock, new_id
    from engine.model.project import new_project
    from engine.time import FrameRange, FrameRate

    project = new_project(1280, 720, 24)
    rate = FrameRate.parse(24)
    beach = MediaRef(new_id(), "/media/beach.mp4", "video", num_frames=480, rate=rate, has_audio=True)
    city = MediaRef(new_id(), "/media/city-night.mov", "video", num_frames=600, rate=rate, has_audio=True)
    poster = MediaRef(new_id(), "/media/poster.png", "image")
    for ref in (beach, city, poster):
        edits.add_media(project, ref)
    prompt, video, audio = (project.timeline.tracks_of(kind)[0].id for kind in ("prompt", "video", "audio"))
    edits.add_track(project, "video")
    v2 = project.timeline.tracks_of("video")[0].id
    edits.insert(project, video, Clip(new_id(), 0, beach.id, FrameRange(24, 168)))
    edits.insert(project, video, Still(new_id(), 168, 72, poster.id))
    edits.insert(project, v2, Clip(new_id(), 120, city.id, FrameRange(0, 192), name="city night (generated)",
                                   curve=Curve((Keyframe(0, 0.0), Keyframe(48, 1.0, "smooth"), Keyframe(150, 1.0),
                                                Keyframe(191, 0.2))),
                                   generation={"model": "toyworld", "seed": 7}))
    edits.insert(project, prompt, TextBlock(new_id(), 0, 120, "a calm beach at sunrise, slow pan right"))
    edits.insert(project, prompt, TextBlock(new_id(), 120, 192, "the beach turns into a neon city at night"))
    edits.insert(project, audio, Clip(new_id(), 0, beach.id, FrameRange(24, 264)))
    return project


def main(out_dir: str) -> int:
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # a fresh settings folder, so the screenshot shows the default layout, not the user's
    os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="kinora-shots-")
    from PySide6.QtWidgets import QApplication

    from editor.main_window import MainWindow
    from editor.style import apply_style

    app = QApplication([sys.argv[0]])
    apply_style(app)
    window = MainWindow(demo_project())
    window.resize(1400, 860)
    window.show()
    for _ in range(20):
        app.processEvents()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "main-window.png")
    window.grab().save(path)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))

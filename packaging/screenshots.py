"""Take screenshots of the main window for the README, the user guide (docs/guide.md) and the
layout checks, at 1600x960, 1280x800 and 1920x1080: `python packaging/screenshots.py OUT_DIR`
(`make screenshots`).

Runs under a real X server when DISPLAY is set (e.g. inside xvfb-run), otherwise offscreen.
The demo project is built in code from clips of Kinora's procedural world, so the screenshots
show real pictures on every kind of track: a storyboard with two video tracks blending under
crossing curves, a title, prompt blocks, a tune with its waveform and a marker; settings and the
library start empty.
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _music(path: str, seconds: float, rate: int = 48000) -> None:
    """A short tune as 16-bit stereo WAV: plucked notes whose swells and decays make a waveform
    that reads as sound on the audio track."""
    import wave

    import numpy as np

    time = np.arange(int(seconds * rate)) / rate
    tune = np.zeros_like(time)
    notes = (220.0, 277.2, 329.6, 440.0, 329.6, 277.2)
    beat = 0.5
    for index, start in enumerate(np.arange(0.0, seconds, beat)):
        after = time - start
        on = after >= 0
        pitch = notes[index % len(notes)]
        accent = 1.0 if index % 4 == 0 else 0.55
        tune[on] += accent * np.exp(-after[on] * 5.0) * np.sin(2 * np.pi * pitch * after[on])
    tune *= 0.7 / np.abs(tune).max()
    pcm = (np.repeat(tune[:, None], 2, axis=1) * 32767).astype("<i2")
    with wave.open(path, "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


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
    paths["tune.wav"] = os.path.join(folder, "tune.wav")
    _music(paths["tune.wav"], 15.0)
    return paths


# Where the demo's pieces sit (frames at 24 fps): sunrise on V1 and stars on V2 overlap over
# BLEND, where their drawn influence curves cross and the stars dissolve in; the title on the
# top video track spans the overlap; the playhead stands inside it.
BLEND = (96, 144)
PLAYHEAD = 126


def demo_project(paths: dict[str, str]):
    """Two video tracks whose clips overlap with crossing influence curves (a blend the model
    is told about, and a cross-dissolve for the picture), a title on a titles track above them,
    prompt blocks over all of it, a tune on the audio track and a marker."""
    from editor.timeline.track_height import set_track_height
    from engine.media.ingest import media_ref_for
    from engine.model import edits, effect_edits
    from engine.model.curves import Curve, Keyframe
    from engine.model.items import Clip, Marker, Still, TextBlock, new_id
    from engine.model.project import new_project
    from engine.time import FrameRange

    project = new_project(1280, 720, 24)
    refs = {name: media_ref_for(path) for name, path in paths.items()}
    for ref in refs.values():
        edits.add_media(project, ref)
    prompt, v1, audio = (project.timeline.tracks_of(kind)[0].id for kind in ("prompt", "video", "audio"))
    edits.add_track(project, "video")
    v2 = project.timeline.tracks_of("video")[0].id
    edits.add_track(project, "video", "Titles")
    titles = project.timeline.tracks_of("video")[0].id
    start, stop = BLEND
    overlap = stop - start
    # sunrise holds fully, then lets go over the overlap; the stars rise as it falls: crossing curves
    edits.insert(project, v1, Clip(new_id(), 0, refs["sunrise.mp4"].id, FrameRange(0, stop), name="sunrise",
                                   curve=Curve((Keyframe(0, 1.0), Keyframe(start, 1.0),
                                                Keyframe(stop - 1, 0.0, "smooth")))))
    edits.insert(project, v2, Clip(new_id(), start, refs["stars.mp4"].id, FrameRange(0, 144),
                                   name="stars",
                                   curve=Curve((Keyframe(0, 0.0), Keyframe(overlap - 1, 1.0, "smooth"),
                                                Keyframe(120, 1.0), Keyframe(143, 0.3))),
                                   opacity=Curve.ramp(-0.5, overlap - 0.5, 0.0, 1.0)))
    edits.insert(project, v1, Clip(new_id(), 240, refs["meadow.mp4"].id, FrameRange(0, 96), name="meadow"))
    edits.insert(project, v1, Still(new_id(), 336, 48, refs["card.png"].id, name="card"))
    effect_edits.add_title(project, titles, 108, "Sunrise to starlight", duration=84, size=56,
                           anchor="bottom", x=0.5, y=0.9, box=True, fade_in=12, fade_out=12)
    edits.insert(project, prompt, TextBlock(new_id(), 0, start, "a yellow circle moving up on a sky background"))
    edits.insert(project, prompt, TextBlock(new_id(), start, 240 - start, "a red star spinning on a black background"))
    edits.insert(project, prompt, TextBlock(new_id(), 240, 144, "a green triangle bouncing on a grass background"))
    edits.insert(project, audio, Clip(new_id(), 0, refs["tune.wav"].id, FrameRange(0, 336), name="tune",
                                      fade_in=12, fade_out=24))
    edits.add_marker(project, Marker(FrameRange(240, 241), "meadow", "orange"))
    set_track_height(project, titles, 34)  # a title needs no thumbnail: a low row leaves room for the rest
    return project


# The README's picture, and the main window at a laptop's and a desktop's screen size: the sizes
# the layout is checked at (no clipped text, every dock usable). Each shot: (size, what it shows).
SHOTS = {"main-window.png": ((1600, 960), "blend"), "main-window-1280x800.png": ((1280, 800), "blend"),
         "main-window-1920x1080.png": ((1920, 1080), "blend"), "storyboard.png": ((1600, 1000), "storyboard"),
         "inspector-title.png": ((1600, 960), "title"), "inspector-clip-1280x800.png": ((1280, 800), "clip")}


def _settle(app, until=lambda: True, rounds: int = 200) -> None:
    import time

    for _ in range(rounds):
        app.processEvents()
        if until():
            break
        time.sleep(0.02)


def _ids_named(window, prefix: str) -> list[str]:
    return [item.id for _, item in window.project.timeline.items()
            if (getattr(item, "name", "") or getattr(item, "text", "")).startswith(prefix)]


def shoot(app, paths: dict[str, str], size: tuple[int, int], path: str, scene: str = "blend") -> None:
    """One fresh main window at `size` (the first-start layout, not the last shot's), saved to
    `path`. `scene` picks what is selected and shown: "blend" the generated clip's influence curve
    in the Curves panel, "title" the title in the Inspector, "clip" the blending clip's in the Inspector, "storyboard" the picture and the
    whole storyboard marked In to Out, with the curve of the clip letting go in the Curves panel."""
    from PySide6.QtCore import QSettings, Qt

    from editor.main_window import MainWindow
    from editor.timeline.view import track_rows

    QSettings().clear()  # each shot starts with the default dock layout
    window = MainWindow(demo_project(paths))
    for media in paths.values():
        window.library.library.add_media(media)
    window.library.refresh()
    window.resize(*size)
    window.show()
    _settle(app, rounds=5)
    view = window.timeline.view
    if scene == "storyboard":  # the picture and the timeline, zoomed so the whole storyboard fills it
        window.library_dock.hide()
        _settle(app, rounds=5)
        view.set_zoom((view.viewport().width() - 80) / window.project.timeline.duration, 0)
    else:
        view.set_zoom(2.6 * size[0] / 1600, 0)
    view.set_playhead(PLAYHEAD)
    if scene in ("title", "clip"):  # the Inspector's sections of a title, or of a clip at a laptop's size
        view.select_ids(_ids_named(window, "Sunrise to" if scene == "title" else "stars"))
        window.inspector_dock.raise_()
    else:
        view.select_ids(_ids_named(window, "stars" if scene == "blend" else "sunrise"))
        window.curves_dock.raise_()
    # every track in sight: the timeline dock as tall as its rows need, no taller
    _, top, height = track_rows(window.project)[-1]
    spare = view.viewport().height() - int(top + height) - 4
    window.resizeDocks([window.timeline_dock], [window.timeline_dock.height() - spare], Qt.Orientation.Vertical)
    if scene == "storyboard":  # the range to generate: the whole storyboard, as the plan strip shows it
        view.mark_in, view.mark_out = 0, window.project.timeline.duration
        view.marksChanged.emit()
    audio = [g for g in view.graphics.values() if g.track.kind == "audio"]
    preview = window.preview
    _settle(app, lambda: preview.screen.image is not None and not preview._in_flight  # the frame at the playhead
            and preview._pending is None and all(g.waveform is not None for g in audio), rounds=500)  # the waveforms
    _settle(app, rounds=50)  # and the thumbnails
    window.grab().save(path)
    print(path)
    window.files.autosaver.close()
    window.document.undo_stack.setClean()
    window.close()


def shoot_start_page(app, paths: dict[str, str], folder: str, path: str) -> None:
    """The start page of a user with three recent projects (the demo saved under three names,
    opened an hour, a day and a week ago), over an empty window at a laptop's size."""
    import time

    from editor.main_window import MainWindow
    from editor.session import show_start_page
    from engine.model.serialize import save_project
    from engine.user_settings import remember_project

    os.makedirs(folder, exist_ok=True)
    now = time.time()
    for name, hours_ago in (("holiday cut", 24 * 7), ("shapes study", 24), ("storyboard", 1)):
        project_path = os.path.join(folder, f"{name}.kinora")
        save_project(demo_project(paths), project_path)
        remember_project(project_path, now - hours_ago * 3600)
    window = MainWindow()
    window.resize(1280, 800)
    window.show()
    page = show_start_page(window)
    _settle(app, rounds=50)
    page.grab().save(path)
    print(path)
    page.close()
    window.files.autosaver.close()
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
    for name, (size, scene) in SHOTS.items():
        shoot(app, paths, size, os.path.join(out_dir, name), scene)
    shoot_start_page(app, paths, os.path.join(work, "projects"), os.path.join(out_dir, "start-page.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))

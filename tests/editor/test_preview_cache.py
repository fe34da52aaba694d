"""While playback is stopped the preview renders the frames of transitions near the playhead
ahead (engine/media/render_cache.py); playing through a dissolve then shows those pictures, and
an edit of the dissolve makes them again."""

from __future__ import annotations

from editor.timeline.view import Ruler
from engine.model import edits
from engine.model.items import Clip, MediaRef
from engine.model.project import new_project
from engine.model.transition import Transition
from engine.model.transition_edits import set_transition
from engine.model.transitions import spans
from engine.time import FrameRange, FrameRate
from tests.media.media_factory import index_video


def _window(qtbot, tmp_path):
    from editor.main_window import MainWindow

    project = new_project(320, 180, 24)
    for name in ("a", "b"):
        path = index_video(tmp_path / f"{name}.mp4", 48, width=320, height=180, rate=24)
        edits.add_media(project, MediaRef(name, str(path), "video", num_frames=48, rate=FrameRate.parse(24)))
    track = project.timeline.tracks_of("video")[0].id
    edits.insert(project, track, Clip("A", 0, "a", FrameRange(0, 30)))
    edits.insert(project, track, Clip("B", 30, "b", FrameRange(12, 47), transition_in=Transition("dissolve", 12)))
    window = MainWindow(project, start_worker=False)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    return window


def _ruler_foot(window, frame: int) -> int:
    """The colour of the ruler's render-ahead bar under `frame`, as painted."""
    view = window.timeline.view
    image = view.ruler.grab().toImage()
    x = int(view.view_x_of(frame) + max(view.pixels_per_frame, 1.0) / 2)
    return image.pixel(x, image.height() - 2) & 0xFFFFFF


def test_dissolve_frames_are_rendered_ahead_and_played_from_the_cache(qtbot, tmp_path):
    window = _window(qtbot, tmp_path)
    preview = window.preview
    qtbot.waitUntil(lambda: not preview.frames_to_render_ahead() and not preview._in_flight, timeout=30_000)
    kept = len(preview.cache)
    assert kept >= 12  # frames 24-35 at the preview's size (and any made at a size the window had before)
    # the ruler's foot says so: blue under the dissolve's frames, nothing elsewhere
    assert _ruler_foot(window, 30) == (Ruler.KEPT.rgb() & 0xFFFFFF) and _ruler_foot(window, 10) != (Ruler.KEPT.rgb() & 0xFFFFFF)
    hits = preview.cache.hits
    shown = []
    preview.frameChanged.connect(shown.append)
    preview.seek(20)
    preview.play()
    qtbot.waitUntil(lambda: preview.frame >= 40, timeout=20_000)
    preview.pause()
    assert any(24 <= f < 36 for f in shown)
    assert preview.cache.hits > hits  # the dissolve's pictures came from the cache
    assert len(preview.cache) == kept  # nothing was made again

    # a longer dissolve is another picture on every frame: made ahead again once stopped
    incoming = next(i for i in window.document.project.timeline.tracks_of("video")[0].items if i.id == "B")
    window.document.perform("Dissolve", lambda p: set_transition(p, incoming.id, Transition("dissolve", 20)))
    qtbot.waitUntil(lambda: not preview.frames_to_render_ahead() and not preview._in_flight, timeout=30_000)
    (span,) = spans(window.document.project.timeline.tracks_of("video")[0])
    assert len(span.frames) > 12  # (as long as the clips' handles allow)
    assert len(preview.cache) == kept + len(span.frames)  # every frame of it is new
    assert _ruler_foot(window, span.frames.start) == (Ruler.KEPT.rgb() & 0xFFFFFF)

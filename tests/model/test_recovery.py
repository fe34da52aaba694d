"""Autosave timing, recovery offered exactly when it should be, broken recoveries, kill -9 during
save and autosave, and rolling backups."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.errors import ProjectFileError
from engine.model import edits
from engine.model.items import TextBlock, new_id
from engine.model.recovery import (
    DAY,
    HOUR,
    Autosaver,
    backups_to_keep,
    discard_recovery,
    find_recovery,
    find_untitled_recoveries,
    list_backups,
    load_recovery,
    make_backup,
    save_with_backup,
)
from engine.model.serialize import load_project, project_to_dict, save_project
from tests.model.factories import rich_project

REPO = Path(__file__).resolve().parents[2]


def _same(a, b, base_dir: str) -> bool:
    return project_to_dict(a, base_dir) | {"kinora_version": 0} == project_to_dict(b, base_dir) | {"kinora_version": 0}


def _set_mtime(path, when: float) -> None:
    os.utime(path, (when, when))


# --- when to autosave ---------------------------------------------------------------------


def test_autosave_is_due_3_s_after_the_last_edit():
    saver = Autosaver()
    assert not saver.due(0.0) and saver.seconds_until_due(0.0) is None
    saver.mark_dirty(10.0)
    assert not saver.due(12.9) and saver.seconds_until_due(12.0) == pytest.approx(1.0)
    saver.mark_dirty(12.0)  # another edit restarts the quiet period
    assert not saver.due(14.9) and saver.due(15.0)


def test_autosave_happens_at_least_every_60_s_while_edits_keep_coming(tmp_path):
    project = rich_project()
    saver = Autosaver(str(tmp_path / "p.kinora"))
    saves = []
    for second in range(0, 150):
        saver.mark_dirty(float(second))  # an edit every second: never 3 s of quiet
        if saver.autosave_if_due(project, second + 0.5):
            saves.append(second)
    # 60 s after the first unsaved edit (second 0), then 60 s after the first edit after that (61)
    assert saves == [60, 121]
    assert not saver.due(149.6) and saver.pending


# --- offering the recovery ----------------------------------------------------------------


def test_recovery_is_offered_exactly_when_newer_than_the_project(tmp_path):
    path = tmp_path / "film.kinora"
    project = rich_project(root=str(tmp_path / "media"))
    save_project(project, path)
    _set_mtime(path, 1000.0)
    assert find_recovery(str(path)) is None  # nothing autosaved
    saver = Autosaver(str(path))
    edits.insert(project, project.timeline.tracks_of("prompt")[0].id, TextBlock(new_id(), 400, 24, "a new idea"))
    saver.mark_dirty(0.0)
    saver.save_recovery(project, 3.0)
    _set_mtime(saver.path, 2000.0)
    offered = find_recovery(str(path))
    assert offered is not None and offered.project_path == str(path) and not offered.previous_attempt_crashed
    recovered = load_recovery(offered)
    assert recovered.path == str(path) and _same(recovered, project, str(tmp_path))
    assert recovered.media == project.media  # absolute media paths come back the same
    _set_mtime(path, 3000.0)  # the project was saved after the autosave
    assert find_recovery(str(path)) is None
    _set_mtime(path, 1000.0)
    assert find_recovery(str(path)) is not None
    save_with_backup(project, str(path), saver)  # a save drops the recovery
    assert find_recovery(str(path)) is None and not os.path.exists(saver.path)
    assert len(list_backups(str(path))) == 1


def test_recovery_of_a_deleted_project_and_of_an_untitled_one_is_offered(tmp_path):
    project = rich_project(root=str(tmp_path))
    gone = tmp_path / "gone.kinora"
    Autosaver(str(gone)).save_recovery(project, 0.0)
    assert find_recovery(str(gone)) is not None
    untitled = Autosaver()
    untitled.save_recovery(project, 0.0)
    [offered] = find_untitled_recoveries()
    assert offered.project_path is None and load_recovery(offered).path is None
    untitled.mark_saved(str(tmp_path / "named.kinora"))
    assert find_untitled_recoveries() == []


def test_a_broken_recovery_is_set_aside_and_never_offered_again(tmp_path):
    path = tmp_path / "film.kinora"
    save_project(rich_project(), path)
    _set_mtime(path, 1000.0)
    saver = Autosaver(str(path))
    Path(saver.path).write_bytes(b'{"kinora_recovery": 1, "project": {"schema": "Project.1", "media": [{')
    offered = find_recovery(str(path))
    assert offered is not None
    with pytest.raises(ProjectFileError, match="cannot be loaded.*set aside"):
        load_recovery(offered)
    assert find_recovery(str(path)) is None  # no loop: the next start opens the project as saved
    assert load_project(path).path == str(path)


def test_a_recovery_whose_loading_crashed_is_flagged_and_discardable(tmp_path):
    path = tmp_path / "film.kinora"
    saver = Autosaver(str(path))
    saver.save_recovery(rich_project(), 0.0)
    Path(saver.path + ".loading").write_bytes(b"")  # what a crash in the middle of loading leaves
    offered = find_recovery(str(path))
    assert offered.previous_attempt_crashed  # the editor offers only to discard it
    discard_recovery(offered)
    assert find_recovery(str(path)) is None and not os.path.exists(saver.path + ".loading")


# --- kill -9 during save and autosave ------------------------------------------------------

_SAVER_LOOP = """
import sys, time
from engine.model import edits
from engine.model.items import TextBlock, new_id
from engine.model.recovery import Autosaver, save_with_backup
from tests.model.factories import rich_project
path = sys.argv[1]
project = rich_project(root=sys.argv[2])
saver = Autosaver(path)
track = project.timeline.tracks_of("prompt")[0].id
if len(sys.argv) > 3:
    save_with_backup(project, path, saver)  # the first round starts from a saved project
print("ready", flush=True)
for i in range(10**6):
    edits.insert(project, track, TextBlock(new_id(), 1000 + i * 10, 5, "idea %d " % i + "x" * 2000))
    saver.mark_dirty(float(i))
    saver.save_recovery(project, float(i))
    if i % 3 == 0:
        save_with_backup(project, path, saver)
"""


def test_kill_9_during_save_and_autosave_always_leaves_a_loadable_project(tmp_path):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    path = tmp_path / "film.kinora"
    for _ in range(16):
        first = [] if path.exists() else ["first"]
        proc = subprocess.Popen([sys.executable, "-c", _SAVER_LOOP, str(path), str(tmp_path), *first], cwd=REPO,
                                stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
        assert proc.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        proc.stdout.close()
        recovery = find_recovery(str(path))
        if recovery is not None:
            recovered = load_recovery(recovery)  # never raises: the file is the old or the new one
            assert recovered.path == str(path), f"seed {seed}"
        if path.exists():
            project = load_project(path)
            assert len(project.timeline.tracks_of("prompt")[0].items) >= 3, f"seed {seed}"
        else:
            assert recovery is not None, f"seed {seed}: neither the project nor its recovery exists"
        for _, backup in list_backups(str(path)):
            load_project(backup)


# --- rolling backups ----------------------------------------------------------------------


def test_rolling_backups_keep_6_recent_8_hourly_5_daily():
    now = 100 * DAY
    every_5_min = [now - i * 300.0 for i in range(0, 12 * 24 * 10)]  # ten days of saves
    kept = sorted(backups_to_keep(every_5_min, now), reverse=True)
    recent = [t for t in kept if now - t < HOUR]
    hourly = [t for t in kept if now - t >= HOUR and int(t // HOUR) >= int(kept[len(recent) + 7] // HOUR)]
    assert recent == every_5_min[:6]
    assert len(hourly) == 8 and len({int(t // HOUR) for t in hourly}) == 8
    daily = kept[len(recent) + 8:]
    assert len(daily) == 5 and len({int(t // DAY) for t in daily}) == 5
    assert len(kept) == 19 and max(kept) == now
    oldest_hour = int(hourly[-1] // HOUR)
    for t in hourly:  # each is the newest save of its hour
        assert t == max(s for s in every_5_min if int(s // HOUR) == int(t // HOUR) and now - s >= HOUR)
    for t in daily:  # each is the newest save of its day from before the hourly ones
        assert t == max(s for s in every_5_min if int(s // DAY) == int(t // DAY) and int(s // HOUR) < oldest_hour)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 30 * DAY, allow_nan=False), max_size=80), st.floats(0, 31 * DAY))
def test_backup_choice_is_bounded_keeps_the_newest_and_is_stable(ages, offset):
    now = 40 * DAY
    stamps = [now - a for a in ages]
    kept = backups_to_keep(stamps, now)
    assert kept <= set(stamps) and len(kept) <= 6 + 8 + 5 + 1
    if stamps:
        assert max(stamps) in kept
    assert backups_to_keep(sorted(kept), now) == kept  # pruning again deletes nothing more


def test_make_backup_prunes_real_files(tmp_path):
    path = tmp_path / "film.kinora"
    save_project(rich_project(), path)
    start = 50 * DAY
    for i in range(40):  # one save every 20 minutes
        make_backup(str(path), now=start + i * 1200.0)
    backups = list_backups(str(path))
    now = start + 39 * 1200.0
    assert [t for t, _ in backups] == sorted(backups_to_keep([start + i * 1200.0 for i in range(40)], now),
                                            reverse=True)
    assert len(backups) == 3 + 8 + 1  # three in the last hour, eight hours, and the day before
    for _, backup in backups:
        assert load_project(backup).settings == load_project(path).settings

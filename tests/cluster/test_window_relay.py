"""The window files of a chain as they travel between a runner and the desktop (no Ray needed):
read where the chain commits them, written where a local run keeps them, and back with a job
submitted again, where the window store takes them only under their own key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from engine.cluster import transport, window_relay
from engine.errors import UserError
from engine.generate.requests import Generate, Sampling
from engine.generate.window_store import WindowStore, windows_folder


def _commit(store: WindowStore, index: int) -> torch.Tensor:
    latents = torch.full((1, 4, 2, 3, 3), float(index + 1))
    store.commit(index, latents, {"index": index})
    return latents


def test_the_desktop_gets_each_committed_window_once_and_a_window_committed_again_anew(tmp_path):
    runner, desktop = tmp_path / "runner" / ".long.mp4.windows", tmp_path / "desktop" / ".long.mp4.windows"
    store = WindowStore(runner / "seed-5", "key-a")
    _commit(store, 0)
    _commit(store, 1)
    tokens, content = window_relay.changed(runner, {})
    assert sorted(content) == ["seed-5/chain.json", "seed-5/window-000.safetensors", "seed-5/window-001.safetensors"]
    window_relay.accept(desktop, content)
    assert window_relay.changed(runner, tokens)[1] == {}  # nothing new: nothing sent
    _commit(store, 2)
    tokens, content = window_relay.changed(runner, tokens)
    assert list(content) == ["seed-5/window-002.safetensors"]
    window_relay.accept(desktop, content)
    held = WindowStore(desktop / "seed-5", "key-a")
    assert [held.load(i)[0][0, 0, 0, 0, 0].item() for i in range(3)] == [1.0, 2.0, 3.0]
    assert not list(desktop.glob("seed-5/.*"))  # written atomically: no temporary file left


def test_windows_held_here_travel_with_a_job_and_are_taken_only_under_their_own_key(tmp_path):
    output = tmp_path / "desktop" / "long.mp4"
    output.parent.mkdir()
    _commit(WindowStore(windows_folder(output) / "seed-5", "key-a"), 0)
    request = Generate(output=str(output), prompt="rain", sampling=Sampling(seed=5, steps=2), frames=129)
    packed = transport.pack(request)
    worker = tmp_path / "worker"
    unpacked = transport.unpack(packed.request_json, {**packed.files, **window_relay.outgoing(windows_folder(output))},
                                str(worker))
    there = windows_folder(Path(unpacked.output))
    assert there == worker / "out" / ".long.mp4.windows"
    assert WindowStore(there / "seed-5", "key-a").load(0) is not None  # the same job: resumed
    assert WindowStore(there / "seed-5", "key-b").load(0) is None  # another request's: cleared
    assert transport.collect(str(worker)) == {}  # the windows are not among the job's results


@pytest.mark.parametrize("name", ["../x.safetensors", "seed-5/../../x.json", "seed-5/other.bin", "x/chain.json"])
def test_a_window_file_by_any_other_name_is_refused(tmp_path, name):
    with pytest.raises(UserError, match="window file"):
        window_relay.accept(tmp_path / "w", {name: b"x"})
    with pytest.raises(UserError, match="window file"):
        transport.unpack(transport.pack(Generate(output=str(tmp_path / "a.mp4"), prompt="rain")).request_json,
                         {window_relay.PREFIX + name: b"x"}, str(tmp_path / "worker"))
    assert not (tmp_path / "x.safetensors").exists() and not (tmp_path / "x.json").exists()


def test_a_job_runs_in_the_same_folder_each_time_on_a_machine_unless_another_runner_holds_it(tmp_path, monkeypatch):
    # The same folder: a job's inputs get the same paths, so the windows of a plan reading them
    # keep their key when the job comes again.
    import os
    import tempfile

    from engine.cluster.runner import _job_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first, lock = _job_folder("kinora-job-7.1")
    (Path(first) / "left.txt").write_text("by a runner killed here")
    held_elsewhere, no_lock = _job_folder("kinora-job-7.1")
    assert held_elsewhere != first and no_lock is None  # a fresh folder of its own: never shared
    os.close(lock)
    again, lock = _job_folder("kinora-job-7.1")
    assert again == first and os.listdir(again) == []  # what was left is cleared
    os.close(lock)

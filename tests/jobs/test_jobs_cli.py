"""`kinora jobs submit|run|list|cancel|retry` in process, on a tiny real model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.cli import main
from tests.jobs.conftest import generate_argv


def _listed(capsys) -> dict[int, dict]:
    assert main(["jobs", "list", "--json"]) == 0
    return {job["id"]: job for job in json.loads(capsys.readouterr().out)}


def test_submit_list_cancel_retry_and_run(tmp_path, tiny_model_dir, capsys):
    assert main(["jobs", "list"]) == 0
    assert "the queue is empty" in capsys.readouterr().out
    ids = []
    for name in ("first", "second"):
        assert main(["jobs", "submit", "generate", *generate_argv(tiny_model_dir, tmp_path / f"{name}.npy")]) == 0
        ids.append(int(capsys.readouterr().out))
    jobs = _listed(capsys)
    assert [jobs[i]["state"] for i in ids] == ["queued", "queued"]
    assert jobs[ids[0]]["params"]["request"]["output"] == str(tmp_path / "first.npy")

    assert main(["jobs", "cancel", str(ids[1])]) == 0
    assert "cancelled" in capsys.readouterr().out
    assert main(["jobs", "cancel", str(ids[1])]) == 2
    assert "cancelled already" in capsys.readouterr().err
    assert main(["jobs", "retry", str(ids[1])]) == 0
    capsys.readouterr()

    assert main(["jobs", "run", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split() == [str(tmp_path / "first.npy"), str(tmp_path / "second.npy")]
    jobs = _listed(capsys)
    assert [jobs[i]["state"] for i in ids] == ["done", "done"]
    assert np.load(tmp_path / "second.npy").shape == (9, 32, 32, 3)
    assert main(["library", "search", "fox", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_submit_rejects_what_kinora_generate_rejects(tmp_path, capsys):
    assert main(["jobs", "submit", "generate", "a cat", "-o", str(tmp_path / "no-such-folder" / "x.mp4")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:  # argparse's own exit for a malformed option
        main(["jobs", "submit", "generate", "a cat", "--frames", "many", "-o", str(tmp_path / "x.mp4")])
    assert stop.value.code == 2
    assert "invalid int value" in capsys.readouterr().err
    assert _listed(capsys) == {}


def test_retry_with_lower_settings(tmp_path, capsys):
    assert main(["jobs", "submit", "generate", "a storm", "--resolution", "720p", "-o", str(tmp_path / "s.mp4")]) == 0
    job_id = int(capsys.readouterr().out)
    assert main(["jobs", "cancel", str(job_id)]) == 0
    assert main(["jobs", "retry", str(job_id), "--lower"]) == 0
    assert "lower settings" in capsys.readouterr().out
    job = _listed(capsys)[job_id]
    assert (job["state"], job["params"]["request"]["size"]["resolution"]) == ("queued", "480p")


def test_a_guidance_interval_reaches_the_sampler_and_the_recorded_settings(tmp_path, tiny_model_dir, capsys):
    def generated(name, *options):
        assert main(["generate", *generate_argv(tiny_model_dir, tmp_path / name, steps=2), "--quiet", *options]) == 0
        return np.load(tmp_path / name)

    unguided = generated("unguided.npy", "--guidance", "1")
    guided = generated("guided.npy", "--guidance", "6")
    assert np.abs(guided - unguided).max() > 1e-2
    # Queued as a job (its parameters travel as JSON): an interval that takes in none of the steps'
    # levels (the last is the schedule's terminal 0.1) leaves the conditional prediction alone.
    out = tmp_path / "interval.npy"
    assert main(["jobs", "submit", "generate", *generate_argv(tiny_model_dir, out, steps=2), "--guidance", "6",
                 "--guidance-interval", "0", "0.01"]) == 0
    assert main(["jobs", "run", "--quiet"]) == 0
    assert np.allclose(np.load(out), unguided, atol=1e-4)
    from engine.library.catalog import Library

    assert Library().generation_for_output(str(out))["settings"]["guidance_interval"] == [0.0, 0.01]
    capsys.readouterr()
    assert main(["generate", *generate_argv(tiny_model_dir, tmp_path / "bad.npy"), "--guidance-interval", "0.9",
                 "0.2"]) == 2
    assert "--guidance-interval 0.9 0.2: give two noise levels" in capsys.readouterr().err


def test_every_ai_tool_runs_as_a_job_and_names_its_parent(tmp_path, tiny_model_dir, capsys):
    clip = tmp_path / "clip.mp4"
    model = ["--model", str(tiny_model_dir), "--size", "32x32", "--steps", "1", "--device", "cpu"]
    assert main(["jobs", "submit", "generate", "a fox", "--frames", "9", *model, "-o", str(clip)]) == 0
    assert main(["jobs", "run", "--quiet"]) == 0
    submitted = {
        "extend": [str(clip), "the fox runs on", "--frames", "8", "--context", "1"],
        "loop": [str(clip), "--frames", "8", "--context", "1"],
        "remix": [str(clip), "a fox made of glass", "--strength", "0.6"],
        "upscale": [str(clip)],
        "blend": [str(clip), str(clip), "--frames", "9"],
    }
    for tool, options in submitted.items():
        assert main(["jobs", "submit", tool, *options, *model, "-o", str(tmp_path / f"{tool}.mp4")]) == 0
    capsys.readouterr()
    assert main(["jobs", "run", "--quiet"]) == 0
    assert len(capsys.readouterr().out.split()) == len(submitted)  # one output path each
    jobs = _listed(capsys)
    assert {job["kind"]: job["state"] for job in jobs.values()} == dict.fromkeys(["generate", *submitted], "done"), \
        [(j["kind"], j["error"]) for j in jobs.values()]
    from engine.library.catalog import Library

    library = Library()
    source = library.generation_for_output(str(clip))
    assert source["tool"] == "generate" and source["parent_id"] is None
    for tool in submitted:
        record = library.generation_for_output(str(tmp_path / f"{tool}.mp4"))
        assert (record["tool"], record["parent_id"], record["parent_clip"]) == (tool, source["id"], str(clip))

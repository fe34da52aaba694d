"""Offline model discovery, the loading policy and its error messages."""

import json
import os
import re
import shutil

import pytest

from engine.cli import main
from engine.errors import ModelError
from engine.generate import models


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No bundled model, empty user folder and HF cache, unless a test puts something there."""
    monkeypatch.setattr(models, "RESOURCES", tmp_path / "resources")
    monkeypatch.setattr(models, "BUNDLED_MODEL", tmp_path / "resources" / "models" / "toyworld")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.delenv("KINORA_MODELS", raising=False)
    return tmp_path


def _copy(src, dst):
    shutil.copytree(src, dst)
    return dst


def test_discovers_kinora_models_paths_and_the_hf_cache(isolated, tiny_ltx_dir, monkeypatch):
    shelf = isolated / "shelf"
    _copy(tiny_ltx_dir, shelf / "my-ltx")
    snapshot = isolated / "hub" / "models--acme--ltx-mini" / "snapshots" / "abc123"
    _copy(tiny_ltx_dir, snapshot)
    monkeypatch.setenv("KINORA_MODELS", str(shelf))
    found = {m.name: m for m in models.discover()}
    assert set(found) == {"my-ltx", "acme/ltx-mini"}
    assert all(m.family == "ltx" and m.usable for m in found.values())
    assert models.resolve("ltx-mini").path == snapshot
    assert models.resolve(None).usable  # no bundled model: the first usable one


def test_bundled_model_is_the_default(isolated, tiny_ltx_dir):
    _copy(tiny_ltx_dir, models.BUNDLED_MODEL)
    assert models.resolve(None).path == models.BUNDLED_MODEL


def test_no_model_at_all_is_one_clear_message(isolated):
    with pytest.raises(ModelError, match="no video model is installed: put a diffusers-format LTX-Video model in"):
        models.resolve(None)


def test_bin_only_weights_are_refused(isolated, tiny_ltx_dir):
    folder = _copy(tiny_ltx_dir, isolated / "pickled")
    for weights in (folder / "transformer").glob("*.safetensors"):
        weights.rename(weights.with_name("diffusion_pytorch_model.bin"))
    with pytest.raises(ModelError, match=r"transformer/diffusion_pytorch_model.bin is a PyTorch pickle, not "
                                         r"safetensors; Kinora loads weights from \.safetensors only"):
        models.resolve(str(folder))


PICKLE_ADVICE = (r"diffusion_pytorch_model.bin is a PyTorch pickle, not safetensors; Kinora loads weights from "
                 r"\.safetensors only \(loading a pickle can run code\)\. Download the model's safetensors variant, or "
                 r"convert it once on a machine you trust: load it with diffusers and save it with "
                 r"save_pretrained\(folder, safe_serialization=True\)")


def test_a_model_saved_as_pickles_is_named_with_how_to_convert_it(isolated, monkeypatch, capsys):
    """A real diffusers save with safe_serialization=False: listed, resolved and loaded, each time the
    message names the pickle file and how to convert it (not "not an LTX-Video model" or "download it again")."""
    import diffusers

    from engine.generate.backends import load_backend
    from tests.generate.tiny_models import tiny_ltx_components

    folder = isolated / "shelf" / "pickled-ltx"
    diffusers.LTXPipeline(**tiny_ltx_components()).save_pretrained(folder, safe_serialization=False)
    assert (folder / "transformer" / "diffusion_pytorch_model.bin").is_file()
    assert not list((folder / "transformer").glob("*.safetensors"))
    monkeypatch.setenv("KINORA_MODELS", str(isolated / "shelf"))

    assert main(["models", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert not listed["usable"]
    assert re.search(re.escape(str(folder / "transformer")) + "/" + PICKLE_ADVICE, listed["problem"])
    with pytest.raises(ModelError, match=PICKLE_ADVICE):
        models.resolve("pickled-ltx")
    # Loading a ModelInfo without resolving it first (as a cached info or a training run does) says the same.
    with pytest.raises(ModelError, match=PICKLE_ADVICE):
        load_backend(models.inspect_model(folder), device="cpu")
    with pytest.raises(ModelError, match=PICKLE_ADVICE):
        models.load_component(folder / "vae", "diffusers", "AutoencoderKLLTXVideo")


def test_partial_and_incompatible_models(isolated, tiny_ltx_dir):
    partial = _copy(tiny_ltx_dir, isolated / "partial")
    shutil.rmtree(partial / "vae")
    with pytest.raises(ModelError, match="vae is missing: the model is partly downloaded"):
        models.resolve(str(partial))
    empty = _copy(tiny_ltx_dir, isolated / "empty")
    for weights in (empty / "text_encoder").glob("*.safetensors"):
        weights.unlink()
    with pytest.raises(ModelError, match="text_encoder has no weights"):
        models.resolve(str(empty))
    other = _copy(tiny_ltx_dir, isolated / "sdxl")
    index = json.loads((other / "model_index.json").read_text())
    index["_class_name"] = "StableDiffusionXLPipeline"
    (other / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="is a StableDiffusionXLPipeline model; Kinora runs LTX-Video"):
        models.resolve(str(other))
    remote = _copy(tiny_ltx_dir, isolated / "remote")
    index = json.loads((remote / "model_index.json").read_text())
    index["transformer"] = ["my_package", "FancyTransformer"]
    (remote / "model_index.json").write_text(json.dumps(index))
    with pytest.raises(ModelError, match="needs code from 'my_package'"):
        models.resolve(str(remote))
    with pytest.raises(ModelError, match="no model named 'ghost'"):
        models.resolve("ghost")


def test_a_model_declares_the_noise_levels_it_guides_and_a_bad_declaration_is_named(isolated, tiny_ltx_dir):
    from engine.generate.backends import load_backend

    def declaring(name, interval):
        folder = _copy(tiny_ltx_dir, isolated / name)
        index = json.loads((folder / "model_index.json").read_text())
        index["_kinora_defaults"] = {"guidance_interval": interval}
        (folder / "model_index.json").write_text(json.dumps(index))
        return models.resolve(str(folder))

    assert load_backend(models.resolve(str(tiny_ltx_dir)), device="cpu").caps.default_guidance_interval == (0.0, 1.0)
    assert load_backend(declaring("limited", [0.2, 0.95]), device="cpu").caps.default_guidance_interval == (0.2, 0.95)
    with pytest.raises(ModelError, match=r"backwards.model_index.json: _kinora_defaults.guidance_interval \[0.9, 0.1\] "
                                         "must be two noise levels"):
        load_backend(declaring("backwards", [0.9, 0.1]), device="cpu")


def test_device_choice_and_memory_options():
    import torch

    device, dtype = models.pick_device("cpu")
    assert device.type == "cpu" and dtype == torch.float32
    with pytest.raises(ModelError, match="unknown device 'tpu'"):
        models.pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ModelError, match="no CUDA GPU is available; use --device cpu"):
            models.pick_device("cuda")
    assert models.choose_memory_options(10**9, device, 0) == models.MemoryOptions()
    forced = models.MemoryOptions(cpu_offload=True, vae_tiling=True)
    assert models.choose_memory_options(10**9, device, 0, forced) is forced


def test_the_memory_setting_forces_memory_options_and_auto_leaves_the_choice_to_free_memory():
    from engine.user_settings import UserSettings

    assert models.memory_override(UserSettings()) is None
    assert models.memory_override(UserSettings(memory="none")) == models.MemoryOptions()
    assert models.memory_override(UserSettings(memory="model-offload")) == models.MemoryOptions(cpu_offload=True)
    assert models.memory_override(UserSettings(memory="group-offload", vae_tiling=False)) == models.MemoryOptions(
        group_offload=True)
    assert models.memory_override(UserSettings(vae_tiling=True)) == models.MemoryOptions(vae_tiling=True)


@pytest.mark.parametrize("memory", [models.MemoryOptions(cpu_offload=True), models.MemoryOptions(group_offload=True)],
                         ids=["model offload", "group offload"])
def test_offloaded_backend_gives_the_same_video(tiny_ltx, tiny_ltx_dir, memory):
    import numpy as np

    from engine.generate.backends import load_backend
    from engine.generate.compiler import compile
    from engine.generate.settings import SamplingSettings
    from engine.model.project import new_project
    from engine.time import FrameRange

    offloaded = load_backend(models.resolve(str(tiny_ltx_dir)), device="cpu", memory=memory)
    if memory.group_offload:  # the transformer's blocks go through diffusers' group-offloading hooks
        assert any(getattr(block, "_diffusers_hook", None) is not None
                   for block in offloaded.transformer.transformer_blocks)
    plan = compile(new_project(32, 32, 25), FrameRange(0, 9), tiny_ltx.caps, prompt="dunes")
    settings = SamplingSettings(steps=2, seed=3)
    assert np.array_equal(offloaded.generate(plan, settings).frames, tiny_ltx.generate(plan, settings).frames)


def test_models_command_lists_what_it_finds(isolated, tiny_ltx_dir, monkeypatch, capsys):
    shelf = isolated / "shelf"
    _copy(tiny_ltx_dir, shelf / "good")
    bad = _copy(tiny_ltx_dir, shelf / "bad")
    shutil.rmtree(bad / "vae")
    monkeypatch.setenv("KINORA_MODELS", str(shelf))
    assert main(["models", "--json"]) == 0
    listed = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert listed["good"]["usable"] and not listed["bad"]["usable"]
    assert "partly downloaded" in listed["bad"]["problem"]


class _RunsCode:
    """Unpickling this would run code: it leaves a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickle_that_would_run_code_is_never_loaded(isolated, tiny_ltx_dir):
    import pickle

    folder = _copy(tiny_ltx_dir, isolated / "malicious")
    marker = isolated / "pwned"
    for weights in (folder / "transformer").glob("*.safetensors"):
        weights.unlink()
        (folder / "transformer" / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps(_RunsCode(marker)))
    with pytest.raises(ModelError, match="safetensors only"):
        models.resolve(str(folder))
    with pytest.raises(ModelError):
        models.load_components(models.inspect_model(folder))
    assert not marker.exists()


def test_a_model_asking_for_its_own_code_is_refused(isolated, tiny_ltx_dir):
    folder = _copy(tiny_ltx_dir, isolated / "custom")
    config = folder / "text_encoder" / "config.json"
    data = json.loads(config.read_text())
    data["auto_map"] = {"AutoModel": "modeling_evil.EvilModel"}
    config.write_text(json.dumps(data))
    (folder / "text_encoder" / "modeling_evil.py").write_text("open('pwned', 'w')\n")
    with pytest.raises(ModelError, match="Kinora never runs remote code"):
        models.load_components(models.inspect_model(folder))
    assert not (isolated / "pwned").exists() and not os.path.exists("pwned")

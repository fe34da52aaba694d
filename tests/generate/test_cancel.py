"""A cancelled job stops within two seconds in every phase: inside a sampler step, inside the VAE
decode and between the components of a model being loaded.

A test-installed hook makes the tiny LTX model slow (each transformer block, or each decoder
block, sleeps), so one step or one decode takes many seconds; a cancel from another thread
must not wait for it to finish. The blocks are what Kinora can stop between, so each sleeps
well under the two seconds.
"""

import threading
import time

import pytest
import torch

from engine.generate import models, tools
from engine.generate.backends import load_backend
from engine.generate.settings import SamplingSettings
from engine.progress import CancelToken, JobCancelled
from tests.generate.tiny_models import save_tiny_ltx

pytestmark = pytest.mark.filterwarnings("ignore")
BLOCK_SECONDS = 0.5  # how long each slowed block takes
NUM_LAYERS = 20  # so that one step of the slowed transformer takes 10 s


@pytest.fixture(scope="module")
def deep_ltx(tmp_path_factory):
    folder = save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx-deep", num_layers=NUM_LAYERS)
    return load_backend(models.resolve(str(folder)), device="cpu")


def _slowed(modules, seconds: float):
    """Hooks that sleep before each of `modules` runs; `started` is set when the first one sleeps,
    `finished` records when each module's forward finished."""
    started, finished = threading.Event(), []

    def slow(_module, _args):
        started.set()
        time.sleep(seconds)

    def done(_module, _args, _output):
        finished.append(time.monotonic())

    hooks = [hook for module in modules
             for hook in (module.register_forward_pre_hook(slow), module.register_forward_hook(done))]
    return hooks, started, finished


def _cancel_after(started: threading.Event, delay: float, token: CancelToken) -> list[float]:
    """Cancel `token` from another thread `delay` seconds after `started`; returns [cancel time]."""
    when: list[float] = []

    def cancel():
        if started.wait(timeout=120):
            time.sleep(delay)
            when.append(time.monotonic())
            token.cancel()

    threading.Thread(target=cancel, daemon=True).start()
    return when


def _generate_cancelled(backend, slowed_modules, seconds: float, **generate):
    recipe = tools.text_to_video(backend.caps, num_frames=9, prompt="a lighthouse", width=32, height=32)
    token = CancelToken()
    hooks, started, finished = _slowed(slowed_modules, seconds)
    cancelled_at = _cancel_after(started, seconds / 2, token)  # in the middle of the first slowed block
    try:
        with pytest.raises(JobCancelled):
            backend.generate(recipe.plan, SamplingSettings(steps=2, guidance=1.0, seed=0), cancel=token, **generate)
        returned_at = time.monotonic()
    finally:
        for hook in hooks:
            hook.remove()
    assert cancelled_at, "the slowed part never ran"
    return returned_at - cancelled_at[0], sum(t > cancelled_at[0] for t in finished), len(finished)


def test_cancel_inside_a_slow_transformer_step_returns_within_two_seconds(deep_ltx):
    blocks = list(deep_ltx.transformer.transformer_blocks)
    assert len(blocks) * BLOCK_SECONDS >= 10  # a single step would take 10 s
    waited, finished_after_cancel, finished = _generate_cancelled(deep_ltx, blocks, BLOCK_SECONDS, decode=False)
    # at most the block that was past its check when the cancel came ran on; the step stopped early
    assert finished_after_cancel <= 1 and finished < len(blocks)
    assert waited < 2.0


def test_cancel_inside_a_slow_vae_decode_returns_within_two_seconds(tiny_ltx):
    decoder = tiny_ltx.vae.decoder
    decoder_blocks = [resnet for block in (decoder.mid_block, *decoder.up_blocks) for resnet in block.resnets]
    assert len(decoder_blocks) >= 5  # the decode would take 5 s or more
    waited, finished_after_cancel, finished = _generate_cancelled(tiny_ltx, decoder_blocks, 1.0)
    assert finished_after_cancel <= 1 and finished < len(decoder_blocks)
    assert waited < 2.0


def test_a_cancelled_token_stops_loading_before_any_component(tiny_ltx_dir):
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        models.load_components(models.inspect_model(tiny_ltx_dir), cancel=token)
    with pytest.raises(JobCancelled):
        load_backend(models.resolve(str(tiny_ltx_dir)), device="cpu", cancel=token)


def test_a_cancel_while_the_first_component_loads_stops_before_the_next(tiny_ltx_dir):
    """The first component with weights is the text encoder (model_index.json is in name order): a
    cancel while its parameters are made stops the load before the transformer or the VAE is made."""
    token, made = CancelToken(), []

    def cancel_on_first_parameter(module, _name, _parameter):
        made.append(type(module).__module__)
        token.cancel()

    hook = torch.nn.modules.module.register_module_parameter_registration_hook(cancel_on_first_parameter)
    try:
        with pytest.raises(JobCancelled):
            models.load_components(models.inspect_model(tiny_ltx_dir), cancel=token)
    finally:
        hook.remove()
    # the text encoder's layers were being made; none of the transformer's or the VAE's (diffusers classes)
    assert any(module.startswith("transformers.models.t5") for module in made)
    assert not any(module.startswith("diffusers.") for module in made)
    assert load_backend(models.resolve(str(tiny_ltx_dir)), device="cpu", cancel=CancelToken()).caps.family == "ltx"

import os

import pytest

from tests.generate.tiny_models import save_tiny_ltx

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny LTX-Video model in diffusers format, written once per test session."""
    return save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx")


def generate_argv(model_dir, output, *, steps: int = 4, prompt: str = "a red fox in the snow", seed: int = 0):
    """`kinora generate` options for a tiny, quick generation."""
    return [prompt, "--model", str(model_dir), "--frames", "9", "--size", "32x32", "--steps", str(steps),
            "--seed", str(seed), "--device", "cpu", "-o", str(output)]


def tool_params(argv: list[str], tool: str = "generate") -> dict:
    """The job params `kinora jobs submit TOOL ARGV...` queues: the typed request of those options."""
    from engine.generate.cli import request_from_argv
    from engine.jobs.request_job import job_params

    return job_params(request_from_argv(tool, argv))

import os

import pytest

from tests.generate.tiny_models import save_tiny_ltx

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_ltx_dir(tmp_path_factory):
    """A tiny LTX-Video model in diffusers format, written once per test session."""
    return save_tiny_ltx(tmp_path_factory.mktemp("models") / "tiny-ltx")


@pytest.fixture(scope="session")
def tiny_ltx(tiny_ltx_dir):
    """Kinora's LTX backend on the tiny model, loaded through Kinora's own loader on the CPU."""
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve

    return load_backend(resolve(str(tiny_ltx_dir)), device="cpu")


@pytest.fixture(scope="session")
def tiny_ltx2_dir(tmp_path_factory):
    """A tiny LTX-2 model (video, audio, vocoder, Gemma 3, connectors) in diffusers format."""
    from tests.generate.tiny_ltx2 import save_tiny_ltx2

    return save_tiny_ltx2(tmp_path_factory.mktemp("models") / "tiny-ltx2")


@pytest.fixture(scope="session")
def tiny_ltx2(tiny_ltx2_dir):
    """Kinora's LTX-2 backend on the tiny model, loaded through Kinora's own loader on the CPU."""
    from engine.generate.backends import load_backend
    from engine.generate.models import resolve

    return load_backend(resolve(str(tiny_ltx2_dir)), device="cpu")

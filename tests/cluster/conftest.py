import os

import pytest

from tests.generate.tiny_models import save_tiny_ltx

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny LTX-Video model in diffusers format, in a folder only this process knows."""
    return save_tiny_ltx(tmp_path_factory.mktemp("desktop-models") / "tiny-ltx")

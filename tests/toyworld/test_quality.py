"""The bundled model against the quality thresholds of its issue, measured by the harness on a
small sample (docs/quality.md has the full run). A threshold the model does not reach yet is an
expected failure with the measured value in its reason; being strict, it fails once it is met."""

import math

import pytest

from engine.generate.models import BUNDLED_MODEL
from engine.toyworld.evaluate import SMALL, THRESHOLDS, evaluate

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (BUNDLED_MODEL / "model_index.json").is_file(), reason="the bundled model is not installed"),
]

# Measured with this file's sample (SMALL, 15 steps) on the bundled weights; see docs/quality.md.
NOT_REACHED: dict[str, str] = {
    "prompt_adherence": "0.33 on this sample (0.50 of 60 in the full run) — the transformer draws most shapes as blobs",
    "loop_seam_ratio": "1.45 on this sample (1.45 in the full run) — new frames lose the object's exact shape",
    "storyboard_adherence": "0.57 on this sample (0.60 in the full run) — the transformer draws most shapes as blobs",
    "extend_continuity_ratio": "1.76 on this sample (1.76 in the full run) — new frames lose the object's exact shape",
}


@pytest.fixture(scope="module")
def report():
    import torch

    torch.set_num_threads(1)
    return evaluate(None, sizes=SMALL, steps=15, device="cpu", log=lambda message: None)


def _check(report, key):
    value = report.metrics[key]
    assert not math.isnan(value)
    assert THRESHOLDS[key].met(value), f"{key} = {value:.3f}"


def _case(key):
    marks = [pytest.mark.xfail(strict=True, reason=NOT_REACHED[key])] if key in NOT_REACHED else []
    return pytest.param(key, marks=marks, id=key)


@pytest.mark.parametrize("key", [_case(k) for k in THRESHOLDS])
def test_threshold(report, key):
    _check(report, key)


def test_the_bundled_model_is_small_and_the_default(report):
    from engine.generate.models import resolve

    size = sum(p.stat().st_size for p in BUNDLED_MODEL.rglob("*") if p.is_file())
    assert size <= 40 * 1024 * 1024
    assert resolve(None).path == BUNDLED_MODEL
    assert report.details["model"] == str(BUNDLED_MODEL)

import numpy as np
import pytest

from engine.model.curves import PRESET_NAMES, Curve, Keyframe, preset


def test_default_curve_is_flat_one():
    np.testing.assert_array_equal(Curve().evaluate(np.arange(5)), np.ones(5))


def test_linear_smooth_and_hold_segments():
    curve = Curve((Keyframe(0, 0.0, "linear"), Keyframe(10, 1.0, "smooth"), Keyframe(20, 0.0, "hold"),
                   Keyframe(30, 0.5)))
    values = curve.evaluate(np.array([-5, 0, 5, 10, 15, 20, 25, 29.9, 30, 40]))
    np.testing.assert_allclose(values, [0, 0, 0.5, 1.0, 0.5, 0.0, 0.0, 0.0, 0.5, 0.5])
    # smoothstep eases: slower than linear near the keyframes
    assert curve.evaluate(11) > 0.95 and curve.evaluate(19) < 0.05


def test_evaluation_is_vectorised_over_any_shape():
    curve = Curve.ramp(0, 100, 0.0, 1.0)
    frames = np.arange(200).reshape(10, 20)
    assert curve.evaluate(frames).shape == (10, 20)
    np.testing.assert_allclose(curve.evaluate(frames).ravel()[:101], np.arange(101) / 100)


def test_keyframes_are_sorted_and_unique_and_checked():
    curve = Curve((Keyframe(5, 1.0), Keyframe(0, 0.0), Keyframe(5, 0.5)))
    assert [(k.frame, k.value) for k in curve.keyframes] == [(0, 0.0), (5, 0.5)]
    with pytest.raises(ValueError, match="outside"):
        Keyframe(0, 1.5)
    with pytest.raises(ValueError, match="interpolation"):
        Keyframe(0, 1.0, "bezier")


def test_presets_stay_in_range():
    for name in PRESET_NAMES:
        values = preset(name, 48).evaluate(np.linspace(-5, 60, 300))
        assert values.min() >= 0.0 and values.max() <= 1.0
    with pytest.raises(ValueError, match="unknown curve preset"):
        preset("wobble", 10)

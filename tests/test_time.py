from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.time import FrameRange, FrameRate, round_half_up, snap_rate


@pytest.mark.parametrize(("value", "expected"), [
    (23.976, Fraction(24000, 1001)), (29.97, Fraction(30000, 1001)), (59.94, Fraction(60000, 1001)),
    (23.976023976, Fraction(24000, 1001)), (25.0, Fraction(25)), (12.5, Fraction(25, 2)),
])
def test_float_rates_snap_to_exact_fractions(value, expected):
    assert snap_rate(value) == expected
    assert FrameRate.parse(str(value)).fps == expected


def test_round_half_up_is_one_rule_for_every_platform():
    assert [round_half_up(x) for x in (0.5, 1.5, 2.5, -0.5, 2.4999)] == [1, 2, 3, 0, 2]


def test_seconds_and_frames_at_ntsc():
    rate = FrameRate.parse("30000/1001")
    assert rate.seconds(30000) == Fraction(1001)
    assert rate.frames(Fraction(1001)) == 30000
    assert rate.timecode(30 * 60 + 5) == "00:01:00:05"
    assert FrameRate.parse(24).rescale(48, FrameRate.parse("24000/1001")) == 48


@given(st.integers(-1000, 1000), st.integers(0, 500), st.integers(-1000, 1000), st.integers(0, 500))
def test_frame_ranges_are_half_open(a, length_a, b, length_b):
    r, s = FrameRange.of_length(a, length_a), FrameRange.of_length(b, length_b)
    frames_r, frames_s = set(range(a, a + length_a)), set(range(b, b + length_b))
    assert len(r) == len(frames_r)
    assert r.overlaps(s) == bool(frames_r & frames_s)
    inter = r.intersection(s)
    assert (set(inter) if inter else set()) == frames_r & frames_s


def test_bad_ranges_and_rates_are_refused():
    with pytest.raises(ValueError):
        FrameRange(5, 4)
    with pytest.raises(TypeError):
        FrameRange(0.5, 4)
    with pytest.raises(ValueError):
        FrameRate.parse(0)

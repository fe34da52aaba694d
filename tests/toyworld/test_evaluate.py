"""The quality harness's own pieces: its prompt list, its measures and its table."""

import numpy as np

from engine.toyworld.evaluate import (
    THRESHOLDS,
    Report,
    consecutive_differences,
    evaluation_prompts,
    psnr,
    source_scene,
)
from engine.toyworld.world import COLOURS, MOTIONS, SHAPES, parse_caption, render_scene


def test_the_prompt_list_is_long_balanced_and_readable():
    prompts = evaluation_prompts(60)
    assert len(set(prompts)) == 60
    objects = [parse_caption(p)[0][0] for p in prompts]
    assert {o[0] for o in objects} == set(COLOURS)
    assert {o[1] for o in objects} == set(SHAPES)
    assert {o[2] for o in objects} == set(MOTIONS)
    assert ("red", "circle", "spinning") not in objects


def test_source_clips_move_so_seams_and_continuity_have_a_scale():
    for i in range(10):
        frames = render_scene(source_scene(i))
        assert np.median(consecutive_differences(frames)) > 0


def test_psnr_and_the_table():
    a = np.zeros((4, 4, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 255
    assert psnr(a, a) == 99.0
    assert abs(psnr(a, b) - 10 * np.log10(255**2 / (255**2 / 48))) < 1e-9
    report = Report(metrics={"prompt_adherence": 0.9, "loop_seam_ratio": 2.0})
    table = report.table()
    assert "| colour, shape and motion all right" in table and "| yes |" in table and "| no  |" in table
    assert THRESHOLDS["prompt_adherence"].met(0.85) and not THRESHOLDS["loop_seam_ratio"].met(1.31)


def test_the_table_adds_the_vae_ceiling_when_measured():
    report = Report(metrics={"vae_colour": 1.0, "vae_shape": 0.5, "vae_motion": 0.75, "vae_all": 0.5})
    assert report.table() == ("VAE round trips of rendered clips (the ceiling of any transformer on this VAE): "
                              "colour 1.000, shape 0.500, motion 0.750, all three 0.500")
    report.metrics["prompt_adherence"] = 0.4
    assert report.table().splitlines()[2].startswith("| colour, shape and motion all right | 0.400")

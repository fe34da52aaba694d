import json
from pathlib import Path

import pytest

from engine.user_settings import UserSettings, load_settings, save_settings, settings_path


def test_defaults_round_trip_and_unknown_keys_survive():
    assert load_settings() == UserSettings()
    settings = UserSettings(model_folders=("/models/a", "/models/b"), device="cpu", memory="model-offload",
                            vae_tiling=True, autosave_seconds=30, face_consent="warn")
    save_settings(settings)
    assert load_settings() == settings
    data = json.loads(Path(settings_path()).read_text())
    data["future"] = {"x": 1}
    Path(settings_path()).write_text(json.dumps(data))
    save_settings(load_settings())
    assert json.loads(Path(settings_path()).read_text())["future"] == {"x": 1}


def test_bad_values_fall_back_with_a_warning():
    Path(settings_path()).write_text(json.dumps({"device": "tpu", "autosave_seconds": 1, "face_consent": "warn"}))
    warnings = []
    settings = load_settings(warnings)
    assert settings.device == "auto" and settings.autosave_seconds == 60 and settings.face_consent == "warn"
    assert len(warnings) == 2 and "device must be one of auto, cpu, cuda" in warnings[0]
    Path(settings_path()).write_text("{broken")
    assert load_settings(warnings) == UserSettings() and "could not be read" in warnings[-1]


def test_invalid_settings_cannot_be_made():
    with pytest.raises(ValueError, match="face_consent"):
        UserSettings(face_consent="never")


def test_an_unknown_preview_quality_falls_back_to_auto_with_a_warning():
    Path(settings_path()).write_text(json.dumps({"preview_quality": "quarter"}))
    warnings = []
    assert load_settings(warnings).preview_quality == "auto"
    assert len(warnings) == 1 and "preview_quality must be one of auto, half, full" in warnings[0]
    save_settings(UserSettings(preview_quality="half"))
    assert load_settings().preview_quality == "half"

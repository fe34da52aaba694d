from engine.user_settings import UserSettings, load_settings


def test_settings_dialog_saves_what_the_user_chose(qtbot):
    from editor.dialogs.settings import SettingsDialog

    dialog = SettingsDialog(UserSettings())
    qtbot.addWidget(dialog)
    dialog.folders.addItem("/data/models")
    dialog.device.setCurrentText("cpu")
    dialog.memory.setCurrentText("model-offload")
    dialog.tiling.setCurrentText("on")
    dialog.fp8.setCurrentText("off")
    dialog.autosave.setValue(20)
    dialog.consent.setCurrentIndex(1)
    dialog.accept()
    assert load_settings() == UserSettings(model_folders=("/data/models",), device="cpu", memory="model-offload",
                                           vae_tiling=True, fp8_storage=False, autosave_seconds=20,
                                           face_consent="warn")

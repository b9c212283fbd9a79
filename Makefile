# `make demo` and `make test` create .venv/ on first use. torch comes first and pinned, so that no resolver
# picks a different (multi-GB) build; SpikingJelly 2.0.0 goes in with --no-deps because its declared pins on
# torchvision/torchaudio cannot be satisfied beside a current torch (its real run-time needs are the
# `spikingjelly` extra of pyproject.toml).
PYTHON ?= python3
VENV ?= .venv
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=
RTL_PACKAGES ?= iverilog verilator yosys

BIN := $(VENV)/bin
STAMP := $(VENV)/.snnq-installed

.PHONY: demo test test-slow bench gpu-checks venv clean

demo: $(STAMP)
	$(BIN)/snnq train recipe=demo
	$(BIN)/snnq leaderboard runs --recipe demo

# the conversion exactness tests run a second time on the generic ISA with one thread (issue 14: exact on any
# BLAS, ISA and thread count; the tests themselves switch mkldnn off and on and use one and two threads)
EXACTNESS_TESTS := tests/conversion/test_exact_by_construction.py tests/conversion/test_verify_can_fail.py tests/conversion/test_bad_input.py

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)
	ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -p no:cacheprovider $(EXACTNESS_TESTS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q --runslow $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# the GPU measurements of the open issues (bench/gpu_checks.sh; STAGES="epoch vgg11" picks stages)
gpu-checks: $(STAMP)
	PYTHON=$(BIN)/python bench/gpu_checks.sh $(STAGES)

venv: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(TORCH_PINS)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[all,test]'
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps spikingjelly==2.0.0
	@# Verilog simulators and Yosys for the reference core's co-simulation and synthesis tests (Debian packages)
	@command -v iverilog >/dev/null && command -v verilator >/dev/null && command -v yosys >/dev/null || \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(RTL_PACKAGES) >/dev/null 2>&1 || \
	    { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(RTL_PACKAGES) >/dev/null; }; \
	  else echo "note: apt-get install $(RTL_PACKAGES) (as root) for the RTL tests; without them those tests skip"; fi
	touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

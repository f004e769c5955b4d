# The two set-up commands of the README, plus benchmarks. Both install into .venv on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
export OMP_NUM_THREADS ?= 2
DEMO_DIR ?= output/demo

.PHONY: install demo test bench clean

install:
	@bash scripts/install.sh $(VENV)

demo: install
	@bash scripts/demo.sh $(DEMO_DIR)

test: install
	@$(PY) -m pytest tests -q -p no:cacheprovider

bench: install
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build output

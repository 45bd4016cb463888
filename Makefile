# The common loops. The venv comes from the README's install commands.
PY ?= .venv/bin/python
BIN ?= .venv/bin

.PHONY: test lint bench figures

test:  ## the whole suite (lint included), as CI runs it
	$(PY) -m pytest -q

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench:  ## the figures table of the README, one script per row
	$(PY) benchmarks/grasp.py --episodes 200 --seed 11
	$(PY) benchmarks/memory_scale.py --users 100000 --notes-per-user 10
	$(PY) benchmarks/throughput.py --learning-iter 3
	$(PY) benchmarks/remote_latency.py --episodes 40 --calls 2000 --seed 11

figures:  ## the main job: results.json, episodes.jsonl and the plots under runs/<timestamp>/
	$(BIN)/pahf-robot run

"""Benchmarks of RNN Playground: scripts that print figures and ratios (never timed tests).

Run from the repository root, e.g. `.venv/bin/python -m bench.run_all` (see bench/README.md).
Each script has `main(argv) -> int` and a `--quick` flag (a tiny setting, used by
tests/bench/test_bench_smoke.py). Shared helpers (timing, tables, CSV) live in `bench/common.py`.
"""

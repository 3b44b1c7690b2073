"""Run every benchmark and print a summary that docs/benchmarks.md ("Performance") can quote.

In order: overhead (trainer vs plain PyTorch), the classic stock setup, scaling in T and H, chart
payload at T = 1000 / H = 512, latency in the browser, how long Stop takes, and CUDA (the stock setup
and the overhead on the GPU when torch.cuda.is_available(); otherwise one line saying so). The full output is also
written to bench/out/run_all.md. About 10 minutes on an idle 2-core machine (longer when shared).

    .venv/bin/python -m bench.run_all                  # everything
    .venv/bin/python -m bench.run_all --quick          # tiny settings, seconds (what the smoke test runs)
    .venv/bin/python -m bench.run_all --skip browser,scaling
Leaves to others: each measurement (the bench/*.py scripts).
"""

from __future__ import annotations

import contextlib
import io
import sys
import time

from bench import browser_latency, overhead, payload, scaling, stock_setup, stop_latency
from bench.common import NO_CUDA, cuda_available, parser, setup_threads

STEPS = {
    "overhead": lambda common, s: overhead.main([*common, "--epochs", "20", "--repeats", "3"], s),
    "stock": lambda common, s: stock_setup.main(common, s),
    "scaling": lambda common, s: scaling.main(common, s),
    "payload": lambda common, s: payload.main(common, s),
    "browser": lambda common, s: browser_latency.main(common, s),
    "stop": lambda common, s: stop_latency.main(common, s),
    "cuda": lambda common, s: cuda_step(common, s),
}


def cuda_step(common: list[str], summary: list[str]) -> int:
    """The GPU rows: the stock setup prints cpu and cuda when a GPU exists; then the overhead on cuda."""
    print("## CUDA")
    if not cuda_available():
        print(NO_CUDA)
        summary.append(NO_CUDA)
        return 0
    print(f"device: {__import__('torch').cuda.get_device_name(0)}")
    return overhead.main([*common, "--device", "cuda", "--no-live", "--repeats", "3"], summary)


class _Tee(io.TextIOBase):
    """Writes to the real stdout and keeps a copy."""

    def __init__(self, out):
        self.out, self.copy = out, io.StringIO()

    def write(self, text: str) -> int:
        self.out.write(text)
        self.copy.write(text)
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def main(argv: list[str] | None = None) -> int:
    p = parser("Run every benchmark and print a summary.")
    p.add_argument("--skip", default="", help=f"comma-separated steps to skip: {', '.join(STEPS)}")
    args = p.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - set(STEPS)
    if unknown:
        print(f"Unknown step(s) {', '.join(sorted(unknown))}: choose from {', '.join(STEPS)}.", file=sys.stderr)
        return 2
    threads = setup_threads(args.threads)
    common = ["--threads", str(threads), "--out", str(args.out)] + (["--quick"] if args.quick else [])
    summary: list[str] = []
    failures: list[str] = []
    tee = _Tee(sys.stdout)
    t_start = time.perf_counter()
    with contextlib.redirect_stdout(tee):
        for name, step in STEPS.items():
            if name in skip:
                continue
            t0 = time.perf_counter()
            try:
                rc = step(common, summary)
            except Exception as exc:      # one step failing must not lose the others' figures
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                print(f"{name} failed: {type(exc).__name__}: {first}")
                summary.append(f"{name}: failed ({type(exc).__name__}: {first})")
                rc = 1
            print(f"[{name}: {time.perf_counter() - t0:.0f} s, status {rc}]\n")
            if rc:
                failures.append(name)
        print(f"# Summary ({'quick' if args.quick else 'full'} run, torch threads {threads}, "
              f"{time.perf_counter() - t_start:.0f} s)")
        for line in summary:
            print(f"- {line}")
        if failures:
            print(f"- steps that reported a problem: {', '.join(failures)}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / ("run_all_quick.md" if args.quick else "run_all.md")).write_text(tee.copy.getvalue())
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())

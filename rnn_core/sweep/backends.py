"""Where a sweep's trials run: "inline" (a loop in this process), "local" (worker processes,
`python -m rnn_core.sweep.worker` fed over pipes; standard library only) or "ray" (`ray.init` on this
machine, or the cluster named by RAY_ADDRESS; one task runs every seed of a setting). The backend
changes how fast, never what comes out: each trial seeds everything and runs torch on one thread."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from rnn_core.sweep.records import SweepError
from rnn_core.sweep.trials import Trial, run_task

BACKENDS = ("inline", "local", "ray")
BACKEND_ENV = "RNN_PLAYGROUND_SWEEP_BACKEND"     # the app's backend: local (default), ray or inline
WORKERS_ENV = "RNN_PLAYGROUND_SWEEP_WORKERS"     # the app's worker processes (default 2, at most 2)


def tasks_of(trials: Sequence[Trial], per_task: int = 1) -> list[list[Trial]]:
    """Group trials into tasks: `per_task` = 0 puts every seed of a setting in one task; n > 0 packs
    n trials of the same setting per task. Order is kept (settings as they first appear)."""
    groups: dict[str, list[Trial]] = {}
    for t in trials:
        groups.setdefault(t.setting, []).append(t)
    out = []
    for group in groups.values():
        n = len(group) if per_task <= 0 else per_task
        out.extend(group[i:i + n] for i in range(0, len(group), n))
    return out


def run_sweep(trials: Sequence[Trial], backend: str = "local", workers: int = 2,
              skip: Iterable[str] = (), stop: Callable[[], bool] | None = None,
              per_task: int | None = None) -> Iterator[dict]:
    """Run the trials whose key is not in `skip`; yield each record as its run finishes.

    `stop()` (optional) is asked while waiting; once it says True, no new run starts, the runs in
    flight are abandoned (worker processes terminated, Ray tasks cancelled) and the iterator ends.
    `per_task`: trials per unit of work (default: 1 locally, every seed of a setting on Ray)."""
    if backend not in BACKENDS:
        raise SweepError(f"Unknown backend '{backend}': choose {', '.join(BACKENDS)}.")
    if workers < 1:
        raise SweepError(f"Workers must be at least 1, got {workers}.")
    done = set(skip)
    todo = [t for t in trials if t.key not in done]
    if not todo:
        return
    stop = stop or (lambda: False)
    tasks = tasks_of(todo, (0 if backend == "ray" else 1) if per_task is None else per_task)
    if backend == "inline":
        for task in tasks:
            if stop():
                return
            yield from run_task(task)
    elif backend == "local":
        yield from _run_local(tasks, workers, stop)
    else:
        yield from _run_ray(tasks, workers, stop)


def _run_local(tasks: list[list[Trial]], workers: int, stop: Callable[[], bool]) -> Iterator[dict]:
    """Worker processes (`python -m rnn_core.sweep.worker`), each fed one task at a time over a pipe;
    records come back as tasks finish; on stop, Ctrl-C or an error the workers are killed."""
    import selectors
    import subprocess
    import sys

    from rnn_core.serve.pipes import read_message, write_message

    package_root = str(Path(__file__).resolve().parents[2])      # the folder that holds rnn_core/
    env = {**os.environ, "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH", "")) if p)}
    procs = [subprocess.Popen([sys.executable, "-m", "rnn_core.sweep.worker"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env, bufsize=0)
             for _ in range(min(workers, len(tasks)))]
    todo = list(enumerate(tasks))[::-1]                # popped from the end: first task first

    def send(proc, item: tuple[int, list[Trial]]) -> None:
        write_message(proc.stdin, (item[0], [t.to_dict() for t in item[1]]))

    sel = selectors.DefaultSelector()
    try:
        for proc in procs:
            sel.register(proc.stdout, selectors.EVENT_READ, proc)
            send(proc, todo.pop())
        busy = len(procs)
        while busy:
            if stop():
                return
            for key, _ in sel.select(timeout=0.2):
                proc = key.data
                try:
                    _, records, error = read_message(proc.stdout)
                except EOFError:
                    code = proc.wait()
                    raise RuntimeError(f"A sweep worker process ended unexpectedly (exit code {code}).") from None
                if error:
                    raise RuntimeError(f"A sweep run failed in a worker process: {error}")
                if todo:
                    send(proc, todo.pop())
                else:
                    busy -= 1
                yield from records
    finally:
        sel.close()
        for proc in procs:
            proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                stream.close()


def ray_available() -> str | None:
    """None when Ray can be imported, else the sentence saying why not."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "Ray is not installed: pip install -r requirements-ray.txt."
    return None


def _run_ray(tasks: list[list[Trial]], workers: int, stop: Callable[[], bool]) -> Iterator[dict]:
    """One Ray task per unit of work on the cluster at RAY_ADDRESS, or on a local instance with
    `workers` CPUs (started here and shut down after)."""
    why = ray_available()
    if why:
        raise SweepError(why)
    import ray

    started = False
    if not ray.is_initialized():
        ray.init(**ray_init_args(workers))
        started = True
    remote = ray.remote(num_cpus=1, max_retries=0)(run_task)
    pending = [remote.remote(task) for task in tasks]
    try:
        while pending:
            if stop():
                return
            ready, pending = ray.wait(pending, num_returns=1, timeout=0.2)
            for ref in ready:
                yield from ray.get(ref)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


def ray_init_args(workers: int) -> dict:
    """`ray.init` arguments: a cluster at RAY_ADDRESS gets this package shipped with the job
    (py_modules); a local instance gets `workers` CPUs and finds the package on PYTHONPATH."""
    package = Path(__file__).resolve().parents[1]             # rnn_core/
    env = {"OMP_NUM_THREADS": "1"}
    address = os.environ.get("RAY_ADDRESS", "").strip()
    if address:
        return {"address": address, "runtime_env": {"py_modules": [str(package)], "env_vars": env},
                "log_to_driver": False}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(package.parent), os.environ.get("PYTHONPATH", "")) if p)
    return {"num_cpus": workers, "include_dashboard": False, "log_to_driver": False,
            "runtime_env": {"env_vars": env}}


def app_backend() -> tuple[str, int]:
    """The app's backend and worker count, from the server's environment; bounded to 2 workers so a
    sweep never takes more than two cores of a shared server."""
    backend = os.environ.get(BACKEND_ENV, "local").strip().lower() or "local"
    if backend not in BACKENDS:
        backend = "local"
    text = os.environ.get(WORKERS_ENV, "").strip()
    workers = int(text) if text.isdigit() and int(text) > 0 else 2
    return backend, min(workers, 2)

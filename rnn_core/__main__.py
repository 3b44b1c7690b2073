"""`python -m rnn_core …`: the command line of `rnn_core.cli` (datasets, train, gradients, sweep).

A `train` pays torch's one-off start-up (importing torch, then torch._dynamo, which the first optimiser
imports: about 1.5 s) on a background thread that starts before the CLI imports pandas and reads its
data, so the two overlap instead of adding up. The numbers do not change: the thread builds a throwaway
optimiser and touches no model, data or random state.
"""

import sys
import threading


def _warm_up() -> None:
    from rnn_core.train import warm_up

    warm_up()


if __name__ == "__main__":      # sweep worker processes import this module again: they must not run it
    if len(sys.argv) > 1 and sys.argv[1] == "train":
        threading.Thread(target=_warm_up, name="torch-warm-up", daemon=True).start()
    from rnn_core.cli import main

    raise SystemExit(main())

"""`python -m rnn_core …`: the command line of `rnn_core.cli.main` (datasets, train, gradients, sweep).

A `train` pays torch's one-off start-up (importing torch, about 1 s, and its first autograd pass) on a
background thread that starts before the CLI imports pandas and reads its data, so the two overlap
instead of adding up. The numbers do not change: the thread touches no model, data or random state.
(The optimisers are `rnn_core.nn.optim`'s, not torch.optim's: the first torch.optim optimiser a process
builds imports torch._dynamo, another 1–1.5 s.) A finished `train` leaves with `os._exit`: its
files are closed, and the interpreter's teardown of torch would only add most of a second.
"""

import os
import sys

if __name__ == "__main__":      # sweep worker processes import this module again: they must not run it
    training = len(sys.argv) > 1 and sys.argv[1] == "train"
    if training:
        from rnn_core.serve.warm_up import start_warm_up

        start_warm_up()
    from rnn_core.cli.main import main

    code = main()
    if training:
        # Everything `train` writes is closed by now (the JSON and the run folder use `with`); the
        # interpreter's own teardown of torch's modules would add almost a second to every run.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    raise SystemExit(code)

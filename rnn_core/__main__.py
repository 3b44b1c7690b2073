"""`python -m rnn_core …`: the command line of `rnn_core.cli` (datasets, train, gradients, sweep)."""

from rnn_core.cli import main

if __name__ == "__main__":      # sweep worker processes import this module again: they must not run it
    raise SystemExit(main())

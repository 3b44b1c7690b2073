"""`python -m rnn_core …`: the command line of `rnn_core.cli` (datasets, train, gradients)."""

from rnn_core.cli import main

raise SystemExit(main())

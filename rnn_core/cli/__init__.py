"""The command line, `python -m rnn_core …`: one module per command."""

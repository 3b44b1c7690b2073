"""Sweeps: grids of trials, each a whole run reduced to one record, on one of several backends
(inline, local worker processes, Ray), written to CSV and read back."""

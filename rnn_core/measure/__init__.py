"""Measuring a run: evaluation against the baselines, the verdict in words, text metrics, and the one
place numbers are written for a reader."""

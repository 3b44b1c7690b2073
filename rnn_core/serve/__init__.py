"""Serving runs to many sessions: live runs and their state machine, worker processes and the pipes to
them, fair admission of runs to a server's cores, and runs written to / read from disk."""

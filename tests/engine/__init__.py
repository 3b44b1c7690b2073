"""Tests of one layer; the fixtures they share live in tests/conftest.py."""

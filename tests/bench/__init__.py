"""Tests of the benchmark and fault-suite helpers."""

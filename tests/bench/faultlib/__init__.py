"""Tests of bench/faultlib."""

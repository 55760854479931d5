"""Evaluation: metrics, the benchmark protocol, the quality and speed runners."""

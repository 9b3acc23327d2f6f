"""Grading a submission: the preflight, the grading Execute, the sandbox, the executors and cluster."""

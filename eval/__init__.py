"""Evaluation: VLN metrics and scoring."""

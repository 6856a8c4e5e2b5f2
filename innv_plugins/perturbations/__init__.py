"""Perturbation functions, one plugin module each."""

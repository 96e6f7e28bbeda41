"""Sandbox partner administrations: separate programs with their own synthetic data."""

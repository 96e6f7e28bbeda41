"""Sandbox civil registry: a synthetic population answering civil-status document requests."""

"""Attestations on paper: the printable PDF of an attestation and its visible seal."""

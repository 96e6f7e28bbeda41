"""Signatures and certificates: the exchange PKI, request verification and the seal."""

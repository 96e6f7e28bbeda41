"""The exchange's registration authority: who may join, with which certificate and role, and
which certificates are revoked (docs/onboarding.md)."""

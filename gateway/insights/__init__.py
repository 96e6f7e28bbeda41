"""Foresight and watchfulness from what the gateway already records: misuse of access to
citizens' data (`misuse`)."""

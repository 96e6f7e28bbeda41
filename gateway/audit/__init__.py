"""Accountability, read from what the store keeps: the verification of the audit journal's
hash chain (`journal`), the citizen access report (`access`) and the periodic evaluation
per agency, wilaya and provider (`report`).

May import the store, KPIs, records, texts and the protocol constants; never the pipeline,
a transport, the runtime or the web.
"""

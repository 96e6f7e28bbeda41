"""The web server of a worker: one aiohttp application (`app`) with the HTTP transport and
the public endpoints (`public`), the citizen access report (`citizen`) and the operators'
dashboard (`gateway.dashboard`).

May import the dashboard, the runtime and everything below them; only the command line
imports it.
"""

"""The operators' dashboard, rendered on the server with no script, in French and Arabic.

- `routes`: the login, the logout and the routes of the pages;
- `accounts`: password hashes, signed sessions, CSRF tokens, login throttling;
- `session`: what every page shares: who is logged in, the checks a form must pass, the
  journal entry of an operator's action;
- `page`: the frame of every page (language, direction, navigation, styles);
- `kpis`, `charts`: the KPIs and their inline SVG charts;
- `dead_letters`: browse, replay and purge `gateway.dead`;
- `lookup`: a request found by its request id or attestation id.

May import the runtime and everything below it; the web application adds its routes.
"""

"""SMART App Launch 2.0 (EHR and standalone launch): discovery, authorization code with PKCE, token
exchange (public client or ``private_key_jwt``), reading the patient's record and assessing it.

See docs/smart.md. The protocol mechanics (authorization URL, PKCE S256, token requests, client assertions,
token expiry and refresh) are Authlib's; this package decides what to ask for, what to trust and what to read.
"""

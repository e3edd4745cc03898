"""What the HTTP service runs on, whatever it serves (REST, CDS Hooks, web pages, SMART):

- :mod:`.security` and :mod:`.jwks`: who is calling (JWT verification against trusted issuers' JWKS);
- :mod:`.engines` and :mod:`.worker`: where assessments run (threads, or engine processes with deadlines);
- :mod:`.cache`: a small LRU of finished results, keyed by a digest of everything they depend on;
- :mod:`.state`: the application state and the FastAPI dependencies routes declare.

It knows no protocol: CDS Hooks (:mod:`calcinosis.cdshooks`), REST (:mod:`calcinosis.api`) and the pages
(:mod:`calcinosis.web`, :mod:`calcinosis.smart`) build on it, never the other way round.
"""

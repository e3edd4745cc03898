"""Clinician pages: assess a patient, read the evidence ladder, print the plan.

Server-rendered (Jinja2) pages mounted by :func:`calcinosis.api.create_app` through ``views.router``. They
hold no clinical logic: every assessment comes from :func:`calcinosis.engine.assess` through the same input
path as ``POST /assess``, and every evidence page reads the loaded knowledge pack.
"""

"""The Jinja2 environment (templates shipped in the package) and the HTML response with safe headers."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from calcinosis import __version__
from calcinosis.pack import load_pack_cached
from calcinosis.render.vocabulary import CONTEXT_NAMES, STANCE_LABEL, STATUS_LABEL
from calcinosis.web.present import doi_url, level_legend, pubmed_url

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def workup_name(item_id: str) -> str:
    item = load_pack_cached().workup.get(item_id)
    return item.name if item else item_id


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("calcinosis.web", "templates"),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        app_version=__version__,
        stance_label=STANCE_LABEL,
        status_label=STATUS_LABEL,
        level_legend=level_legend(),
        context_names=CONTEXT_NAMES,
    )
    env.filters["pubmed_url"] = pubmed_url
    env.filters["doi_url"] = doi_url
    env.filters["workup_name"] = workup_name
    return env


def page(
    request: Request, template: str, context: dict[str, Any], *, status: int = 200, private: bool = False
) -> HTMLResponse:
    """Render a template; ``private`` pages (they show patient data) are never cached."""
    state = request.app.state.calcinosis
    html = (
        environment()
        .get_template(template)
        .render(
            request_path=request.url.path,
            pack=state.pack,
            demo_enabled=state.settings.demo,
            **context,
        )
    )
    headers = dict(SECURITY_HEADERS)
    headers["Cache-Control"] = "no-store" if private else "no-cache"
    return HTMLResponse(html, status_code=status, headers=headers)

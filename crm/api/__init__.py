"""The REST API: /api/v1/ (bearer tokens), its OpenAPI document and its documentation page.

A package above the domains: each resource module calls the domains' own queries, forms,
services and permission checks, so the API and the pages follow the same rules.
"""

from flask import Blueprint

# The OpenAPI document and the documentation page (crm/api/views.py).
bp = Blueprint("api", __name__)

API_PREFIX = "/api/v1/"
# The resources, in the order the documentation lists them.
RESOURCE_MODULES = (
    "organisations",
    "contacts",
    "enquiries",
    "figures",
    "agreements",
    "documents",
    "activities",
    "tasks",
)


def init_app(app):
    import importlib

    from crm.api import auth, problems
    from crm.api import views as _views  # noqa: F401 (routes on bp)
    from crm.api.extension import make_api
    from crm.core.errors import render_errors_under
    from crm.core.security import authenticates_itself
    from crm.core.sessions import serve_without_session
    from crm.extensions import csrf, limiter

    api = make_api(app)
    for name in RESOURCE_MODULES:
        resource = importlib.import_module(f"crm.api.{name}")
        # No cookie is read under /api/v1/ (crm/api/auth.py), so no CSRF token is needed.
        csrf.exempt(resource.bp)
        authenticates_itself(resource.bp.name)
        api.register_blueprint(resource.bp)
        _limit_views(app, resource.bp.name, limiter, auth)
    app.register_blueprint(bp)
    app.extensions["crm_api"] = api

    serve_without_session(API_PREFIX)
    render_errors_under("/api/", problems.render)
    # First of the app's hooks, so that nothing asks for current_user (and loads it from
    # a session) before the token has named the user.
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.insert(0, _authenticate_api_requests(auth))


def _authenticate_api_requests(auth):
    from flask import request

    def authenticate_api_request():
        if request.path.startswith(API_PREFIX) and not request.path.endswith("/openapi.json"):
            auth.authenticate()

    return authenticate_api_request


def _limit_views(app, blueprint_name, limiter, auth):
    """Each view limited per token (API_RATE_LIMIT), in the shared rate-limit storage."""
    for endpoint, view in list(app.view_functions.items()):
        if endpoint.startswith(f"{blueprint_name}."):
            app.view_functions[endpoint] = limiter.limit(
                auth.rate_limit, key_func=auth.rate_limit_key
            )(view)

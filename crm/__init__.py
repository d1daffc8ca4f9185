"""The industry-collaboration CRM: application factory.

The domains (their models, blueprints, services and the CLI) are imported inside the
register_* functions, not at the top. This package is the top of the layers, as it imports
every domain; it is also the parent every domain's own import passes through, and Python runs
this file before any module under crm/. Imported at the top, the domains would load with any
`import crm.<something>` (a core helper in a test, Alembic's env), each starting from the
middle of another's import. Core and the extensions know no domain, so they are at the top.
"""

import logging
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from config import (
    DevelopmentConfig,
    TestingConfig,
    development_secret_key,
)
from crm.core import database, page_cache, templating
from crm.core.errors import register as register_core_errorhandlers
from crm.core.forms import share_wtforms_translations
from crm.core.links import parse_public_url
from crm.core.security import limit_form_size, require_login, set_security_headers
from crm.core.sessions import VerifiedCookieSessionInterface, is_sessionless
from crm.core.views import bp as core_bp
from crm.extensions import babel, csrf, db, limiter, login_manager, migrate

# Renamed: this package's own names are its attributes, and importing the crm.mail package
# sets the attribute `mail` to that module.
from crm.extensions import mail as mail_extension


def create_app(config_class=DevelopmentConfig):
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.from_object(config_class)
    _finish_config(app)
    _trust_proxies(app)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_commands(app)
    register_request_hooks(app)
    register_template_helpers(app)
    return app


def _trust_proxies(app):
    """Behind TRUSTED_PROXIES reverse proxies, see the client as they report it."""
    proxies = app.config.get("TRUSTED_PROXIES") or 0
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)


def _finish_config(app):
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    # psycopg 3 is the driver we install; accept the plain URLs operators usually write.
    for prefix in ("postgres://", "postgresql://"):
        if uri.startswith(prefix):
            app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len(prefix) :]
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A database file has no server that could drop a pooled connection, so the ping
        # before each checkout would only cost a statement.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    env = app.config["CRM_ENV"]
    key = app.config.get("SECRET_KEY") or ""
    if env == "development" and not key:
        app.config["SECRET_KEY"] = development_secret_key(app.config["SECRET_KEY_FILE"])
    elif env == "production" and (len(key) < 32 or key == TestingConfig.SECRET_KEY):
        raise RuntimeError(
            "SECRET_KEY must be set to a random value of at least 32 characters in production"
        )
    elif not key:
        raise RuntimeError("SECRET_KEY is not set")

    _check_public_url(app, env)
    _check_sign_in_settings(app)
    _check_document_store(app)

    # Also makes instance/, which a fresh clone does not have, for the default database.
    database.create_private_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])


def _check_public_url(app, env):
    """PUBLIC_URL names every link in e-mails and feeds; production needs it and answers
    only for its host, so a forged Host header gets 400 rather than a page."""
    value = app.config.get("PUBLIC_URL")
    if not value and env != "production":
        return
    if not value:
        raise RuntimeError(
            "PUBLIC_URL must be set in production: the address people reach the app at, "
            "such as https://crm.example.org"
        )
    try:
        app.config["PUBLIC_URL"] = parse_public_url(value)
    except ValueError as error:
        raise RuntimeError(str(error)) from None
    if env == "production" and app.config.get("TRUSTED_HOSTS") is None:
        app.config["TRUSTED_HOSTS"] = [urlsplit(app.config["PUBLIC_URL"]).hostname]


def _check_document_store(app):
    from crm.documents import storage

    storage.check_setting(app)


def _check_sign_in_settings(app):
    """Refuse to start on a sign-in setting that would not do what the operator meant."""
    from crm.auth.models import Role

    roles = {role.value for role in Role}
    unknown = [role for role in app.config["MFA_REQUIRED_ROLES"] if role not in roles]
    if unknown:
        raise RuntimeError(f"MFA_REQUIRED_ROLES names unknown roles: {', '.join(unknown)}")
    auto_role = app.config.get("OIDC_AUTO_CREATE_ROLE")
    if auto_role is not None and (auto_role not in roles or auto_role == Role.ADMIN.value):
        raise RuntimeError(
            "OIDC_AUTO_CREATE_ROLE must be coordinator, member or viewer (never admin)"
        )
    if app.config["PASSWORD_LOGIN"] not in ("on", "off"):
        raise RuntimeError("PASSWORD_LOGIN must be on or off")
    for provider in app.config["OIDC_PROVIDERS"]:
        if not provider["client_id"]:
            raise RuntimeError(f"The OIDC provider {provider['key']} has no client id")


def register_extensions(app):
    # Every table registered before migrations look.
    import crm.models  # noqa: F401

    # Connects the search index's listeners (every flush, and intake's enquiry_submitted),
    # so that every process made from the app keeps the index in step: web, CLI, worker, tests.
    import crm.search.index  # noqa: F401
    from crm.auth import services as auth_services
    from crm.search.models import include_name

    db.init_app(app)
    database.configure_engine_events()
    migrate.init_app(
        app,
        db,
        directory=str(_project_path("migrations")),
        render_as_batch=True,
        # SQLite's full-text tables are made by the search migration, not by models.
        include_name=include_name,
    )
    mail_extension.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    # Every limit here is a decorator on its view, which checks it itself. The before_request
    # check Flask-Limiter adds is for application-wide and blueprint limits, which this app
    # has none of, and would cost every request a pass over the limit configuration.
    global_checks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in global_checks:  # not there when limits are off
        global_checks.remove(limiter._check_request_limit)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=None)

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(auth_services.load_user_from_session)
    login_manager.login_message = _l("Please sign in to see this page.")
    # The message is a lazy string; str() translates it in the request's language.
    login_manager.localize_callback = str


def register_blueprints(app):
    # Adds the organisation, contact and agreement pages to those blueprints: before they are
    # registered, as a blueprint takes no routes afterwards.
    import crm.hubs  # noqa: F401
    from crm import api
    from crm.activities import bp as activities_bp
    from crm.activities import calendar_bp, tasks_bp
    from crm.admin import bp as admin_bp
    from crm.agreements import bp as agreements_bp
    from crm.auth import bp as auth_bp
    from crm.dashboard import bp as dashboard_bp
    from crm.documents import bp as documents_bp
    from crm.enquiries import bp as enquiries_bp
    from crm.mail import bp as mail_bp
    from crm.mailbox import bp as mailbox_bp
    from crm.notifications import bp as notifications_bp
    from crm.organisations import bp as organisations_bp
    from crm.organisations import contacts_bp
    from crm.privacy import bp as privacy_bp
    from crm.public import bp as public_bp
    from crm.public import contact_bp
    from crm.public import feed_bp as public_feed_bp
    from crm.reports import bp as reports_bp
    from crm.saved_views import bp as saved_views_bp
    from crm.search import bp as search_bp
    from crm.webhooks import bp as webhooks_bp

    app.register_blueprint(core_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp, url_prefix="/dashboard")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(organisations_bp, url_prefix="/organisations")
    app.register_blueprint(contacts_bp, url_prefix="/contacts")
    app.register_blueprint(contact_bp)
    app.register_blueprint(public_feed_bp, url_prefix="/api/public")
    app.register_blueprint(enquiries_bp, url_prefix="/enquiries")
    app.register_blueprint(mail_bp, url_prefix="/admin/outbox")
    app.register_blueprint(activities_bp, url_prefix="/activities")
    app.register_blueprint(tasks_bp, url_prefix="/tasks")
    app.register_blueprint(calendar_bp, url_prefix="/calendar")
    app.register_blueprint(documents_bp, url_prefix="/documents")
    app.register_blueprint(agreements_bp, url_prefix="/agreements")
    app.register_blueprint(reports_bp, url_prefix="/reports")
    app.register_blueprint(search_bp, url_prefix="/search")
    app.register_blueprint(saved_views_bp, url_prefix="/saved-views")
    # Both the public notice (/privacy) and the admin pages (/admin/privacy/...).
    app.register_blueprint(privacy_bp)
    app.register_blueprint(mailbox_bp, url_prefix="/mail")
    app.register_blueprint(notifications_bp, url_prefix="/notifications")
    app.register_blueprint(webhooks_bp, url_prefix="/admin/webhooks")
    # The REST API: its resources, the OpenAPI document and the documentation page.
    api.init_app(app)


def register_errorhandlers(app):
    register_core_errorhandlers(app)


def register_commands(app):
    from crm.cli import crm_cli

    app.cli.add_command(crm_cli)


def register_request_hooks(app):
    app.session_interface = VerifiedCookieSessionInterface()
    app.before_request(limit_form_size)
    app.before_request(share_wtforms_translations)
    # The page cache first: it serves a page only to the login it was rendered for.
    page_cache.register(app)
    app.before_request(require_login)
    app.after_request(set_security_headers)
    if not app.testing:
        # The flask command sets debug only after the app is made, so don't depend on it:
        # operators (and the development mail log) need INFO messages.
        logging.basicConfig(level=logging.INFO)
        app.logger.setLevel(logging.INFO)


def register_template_helpers(app):
    templating.register(app)


def _select_locale():
    if not has_request_context():
        return None  # CLI and jobs: Flask-Babel falls back to BABEL_DEFAULT_LOCALE
    languages = _languages()
    if is_sessionless(request.path):
        # The API and the feeds keep no session: the language is asked for on each request.
        requested = request.args.get("lang")
        if requested in languages:
            return requested
        return request.accept_languages.best_match(languages) or "en"
    requested = request.args.get("lang")
    if requested in languages:
        # An explicit ?lang= sticks for the rest of the visit.
        session["lang"] = requested
        return requested
    if session.get("lang") in languages:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    return request.accept_languages.best_match(languages) or languages[0]


def _languages():
    return current_app.config["LANGUAGES"]


def _project_path(name):
    return Path(__file__).resolve().parent.parent / name

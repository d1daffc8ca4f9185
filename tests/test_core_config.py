"""Configuration: production refuses weak secrets; development keeps a generated key."""

import pytest

from config import DevelopmentConfig, ProductionConfig, TestingConfig
from crm import create_app
from crm.auth.models import Role, User


def _config(base, **settings):
    return type("Config", (base,), settings)


@pytest.mark.parametrize("key", [None, "", "change-me", "short-but-not-empty"])
def test_production_refuses_to_start_without_a_real_secret_key(key, tmp_path):
    config = _config(
        ProductionConfig, SECRET_KEY=key, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db"
    )
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)


def test_production_with_a_real_key_sets_secure_cookies(tmp_path):
    config = _config(
        ProductionConfig,
        SECRET_KEY="f" * 64,
        PUBLIC_URL="https://localhost",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db",
    )
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_development_generates_a_key_once_and_keeps_it(tmp_path):
    key_file = tmp_path / "instance" / "secret_key"
    config = _config(
        DevelopmentConfig,
        SECRET_KEY=None,
        SECRET_KEY_FILE=key_file,
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db",
    )
    first = create_app(config)
    assert len(first.config["SECRET_KEY"]) >= 32
    assert key_file.read_text().strip() == first.config["SECRET_KEY"]
    assert oct(key_file.stat().st_mode)[-3:] == "600"
    second = create_app(config)
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_postgres_urls_use_the_installed_driver(tmp_path):
    config = _config(
        DevelopmentConfig,
        SECRET_KEY="x" * 40,
        SQLALCHEMY_DATABASE_URI="postgresql://crm@127.0.0.1:5432/crm",
    )
    app = create_app(config)
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_only_the_tests_hash_passwords_cheaply():
    """The cheap method keeps the suite fast; anywhere real it would make stolen hashes cheap
    to guess."""
    for config in (DevelopmentConfig, ProductionConfig):
        assert config.PASSWORD_HASH_METHOD == "scrypt"
    assert TestingConfig.PASSWORD_HASH_METHOD.startswith("pbkdf2:")


def test_users_are_hashed_with_the_configured_method(tmp_path):
    config = _config(
        ProductionConfig,
        SECRET_KEY="f" * 64,
        PUBLIC_URL="https://localhost",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db",
    )
    app = create_app(config)
    with app.app_context():
        user = User(email="a@example.org", name="A", role=Role.ADMIN)
        user.set_password("a long and unusual passphrase")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("a long and unusual passphrase")

"""Staff users and their roles."""

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from crm.core import audit
from crm.core.models import TimestampMixin
from crm.core.topics import Topic
from crm.core.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from crm.extensions import db


class Role(LabelledEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MEMBER = "member"
    VIEWER = "viewer"

    @staticmethod
    def _labels():
        return {
            "admin": _l("Administrator"),
            "coordinator": _l("Coordinator"),
            "member": _l("Working-group member"),
            "viewer": _l("Viewer"),
        }

    @property
    def rank(self):
        return _ROLE_RANKS[self]

    def includes(self, other):
        """True when this role may do everything `other` may (admin ⊇ coordinator ⊇ …)."""
        return self.rank >= Role(other).rank


_ROLE_RANKS = {Role.VIEWER: 0, Role.MEMBER: 1, Role.COORDINATOR: 2, Role.ADMIN: 3}
# Who may be given an enquiry or a task: anyone who may work one (SPEC §4), never a viewer.
ASSIGNABLE_ROLES = (Role.MEMBER, Role.COORDINATOR, Role.ADMIN)

MIN_PASSWORD_LENGTH = 12


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(50))
    # None until the user sets one from their invitation, and for users who only use single
    # sign-on: no password then works.
    password_hash: Mapped[str | None] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(enum_column(Role), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    language: Mapped[str] = mapped_column(sa.String(2), default="sv")
    is_public_contact: Mapped[bool] = mapped_column(default=False)
    # Bumped on logout and password change; a session carrying an older value is void.
    session_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The secret in the user's calendar-feed URL; renewing it makes the old URL stop working.
    calendar_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # The photo shown with a public contact person (crm.core.images).
    photo_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("stored_images.id", ondelete="SET NULL")
    )
    # Two-factor sign-in (TOTP): the shared secret (base32) once enrolment has started, when
    # it was confirmed with a first code (enrolled), and the last time step a code was
    # accepted for, so a code cannot be used twice.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    # Loaded when asked for, not with every signed-in request's user.
    topics: Mapped[list["UserTopic"]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    def __repr__(self):
        return f"<User {self.id} {self.role}>"

    @property
    def is_active(self):
        return self.active

    def get_id(self):
        return f"{self.id}:{self.session_version}"

    def set_password(self, password):
        self.password_hash = generate_password_hash(
            password, method=current_app.config["PASSWORD_HASH_METHOD"]
        )

    def check_password(self, password):
        if not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)

    @property
    def has_password(self):
        return bool(self.password_hash)

    @property
    def two_factor_enabled(self):
        return self.totp_enabled_at is not None

    def has_role(self, role):
        return self.role.includes(role)


class UserTopic(db.Model):
    """A topic of expertise, used to suggest who should take an enquiry."""

    __tablename__ = "user_topics"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    topic: Mapped[Topic] = mapped_column(enum_column(Topic), primary_key=True, index=True)

    user: Mapped[User] = relationship(back_populates="topics")


class TokenPurpose(LabelledEnum):
    INVITATION = "invitation"
    RESET = "reset"

    @staticmethod
    def _labels():
        return {"invitation": _l("Invitation"), "reset": _l("Password reset")}


class UserToken(db.Model):
    """A single-use link to set a password: an invitation or a reset. Only a hash of the
    token is kept, so the table alone opens no account."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose))
    # SHA-256 of the token in the link, hex.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])


class RecoveryCode(db.Model):
    """A single-use code that stands in for the authenticator app; kept hashed."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(256))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserIdentity(db.Model):
    """An account at an OpenID Connect provider that signs in as this user."""

    __tablename__ = "user_identities"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The provider's key in the configuration (see config.oidc_providers) and its issuer URL.
    provider: Mapped[str] = mapped_column(sa.String(40))
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class ApiScope(LabelledEnum):
    READ = "read"
    WRITE = "write"

    @staticmethod
    def _labels():
        return {"read": _l("Read only"), "write": _l("Read and write")}


class ApiToken(db.Model):
    """A personal token a program uses the REST API with, as its user (crm/auth/api_tokens.py).

    Only a hash of the token is kept, so the table alone opens no account; the holder saw
    the token once, when it was made. A token is never deleted, only revoked, so the history
    of what was done through it keeps a token to point at.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The holder's label, e.g. "Website sync": lists show it, and the history names it.
    name: Mapped[str] = mapped_column(sa.String(100))
    # SHA-256 of the token, hex.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The token's first characters, shown in lists so a person can tell tokens apart; too
    # few to guess the rest from.
    prefix: Mapped[str] = mapped_column(sa.String(12))
    scope: Mapped[ApiScope] = mapped_column(enum_column(ApiScope))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None: never expires.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Kept to the minute or so (API_TOKEN_USE_RESOLUTION_SECONDS), not to the request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id])

    def __repr__(self):
        return f"<ApiToken {self.id} {self.prefix}… {self.scope}>"

    @property
    def is_expired(self):
        return self.expires_at is not None and self.expires_at <= utcnow()

    @property
    def is_revoked(self):
        return self.revoked_at is not None

    @property
    def is_usable(self):
        """Whether a request with this token is let in now: not revoked, not expired, and
        its user still active."""
        return not self.is_revoked and not self.is_expired and self.user.active

    @property
    def allows_write(self):
        return self.scope == ApiScope.WRITE


def _user_name(user_id):
    user = db.session.get(User, user_id)
    return user.name if user is not None else None


# The history names the user an owner_id, assignee_id, … points at.
audit.describe_references("user", _user_name)

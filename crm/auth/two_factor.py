"""Two-factor sign-in: a code from an authenticator app (TOTP, RFC 6238), or a recovery code.

The secret is made when a user starts enrolling and only counts once they have typed a
first code from their app (`totp_enabled_at`). A code is good for its 30-second time step
and one step either side (clocks drift), and only once: the step of the last code accepted
is kept in `totp_last_step`, and no code of that step or an earlier one is taken again, so a
code seen over someone's shoulder is worthless. Wrong codes at sign-in count towards the same
pause of the account as wrong passwords (crm/auth/services.py). Never commits.
"""

import hashlib
import hmac
import re
import secrets

import pyotp
import segno
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from crm.auth import services as user_services
from crm.auth.models import RecoveryCode
from crm.core import audit
from crm.core.types import utcnow
from crm.extensions import db
from crm.settings import services as settings

RECOVERY_CODE_COUNT = 10
# Lower-case letters and digits that cannot be taken for one another (no 0/o, 1/l/i): ten of
# them are 31^10, about 2^49 codes, so a fast hash of a code is as safe to keep as a slow
# hash of a password.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10
TOTP_DIGITS = 6

audit.describe_actions(
    {
        "enable_two_factor": _l("turned on two-factor sign-in"),
        "disable_two_factor": _l("turned off two-factor sign-in"),
        "regenerate_recovery_codes": _l("made new recovery codes"),
    }
)


class TwoFactorError(ValueError):
    """A step that cannot be taken; the message is shown to the person."""


def start_enrolment(user):
    """A new secret for the user's authenticator app; two-factor sign-in is not on until
    `confirm_enrolment`. Starting again replaces the secret of an unfinished enrolment."""
    if user.two_factor_enabled:
        raise TwoFactorError(_("Two-factor sign-in is already on."))
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    return user.totp_secret


def cancel_enrolment(user):
    """Forget the secret of an enrolment that was never confirmed."""
    if not user.two_factor_enabled:
        user.totp_secret = None
        user.totp_last_step = None


def enrolment_started(user):
    return user.totp_secret is not None and not user.two_factor_enabled


def provisioning_uri(user):
    """The otpauth:// address an authenticator app reads from the QR code: the office's name
    (in the user's language) as the issuer, the user's e-mail address as the account."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.email, issuer_name=settings.office_name(user.language)
    )


def qr_code_data_uri(uri):
    """The QR code of `uri` as an SVG data: URI, drawn here (no outside service sees the
    secret) and allowed by the pages' Content Security Policy (img-src 'self' data:)."""
    # A white background and a quiet zone, so a phone reads it on a dark screen too.
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def grouped_secret(secret):
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))


def confirm_enrolment(user, code, *, actor, at=None):
    """Turn two-factor sign-in on once `code` is right for the new secret; answers the new
    recovery codes, which are shown once and kept only hashed."""
    if user.two_factor_enabled:
        raise TwoFactorError(_("Two-factor sign-in is already on."))
    if user.totp_secret is None:
        raise TwoFactorError(_("Start setting up two-factor sign-in first."))
    if not _accept_totp(user, code, at or utcnow()):
        raise TwoFactorError(
            _(
                "The code is not right. Type the six digits your app shows now; check that "
                "the time on your phone is correct."
            )
        )
    user.totp_enabled_at = utcnow()
    codes = _replace_recovery_codes(user)
    # No secrets in the history: only that it happened, and who did it.
    audit.record(user, "enable_two_factor", actor=actor, changes={})
    return codes


def check_sign_in_code(user, code, *, at=None):
    """The second step of signing in: "totp" or "recovery" when `code` is a good code from
    the user's app or an unused recovery code of theirs (the recovery code is then used up),
    else None.

    While checks on the account are paused (too many wrong passwords or codes) every code is
    refused without being looked at; a wrong code counts towards the pause like a wrong
    password, and a right one clears the count.
    """
    # Locked until the request commits, so two requests with the same code, or a burst of
    # guesses, are checked one after the other against what the one before wrote.
    db.session.refresh(user, with_for_update=True)
    now = at or utcnow()
    if not user.two_factor_enabled:
        return None
    if user.locked_until is not None and user.locked_until > now:
        return None
    if _accept_totp(user, code, now):
        method = "totp"
    elif _use_recovery_code(user, code, now):
        method = "recovery"
    else:
        user_services.count_failure(user, now)
        return None
    user_services.clear_failures(user)
    return method


def unused_recovery_codes(user):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def regenerate_recovery_codes(user, *, actor):
    """New recovery codes in place of all the old ones, used or not; answers the new ones."""
    if not user.two_factor_enabled:
        raise TwoFactorError(_("Two-factor sign-in is not on."))
    codes = _replace_recovery_codes(user)
    audit.record(user, "regenerate_recovery_codes", actor=actor, changes={})
    return codes


def turn_off(user, *, actor):
    """Two-factor sign-in off: the secret and the recovery codes are gone. The caller has
    checked the person's password (or code), or that an admin does this."""
    if not user.two_factor_enabled:
        raise TwoFactorError(_("Two-factor sign-in is not on."))
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit.record(user, "disable_two_factor", actor=actor, changes={})


def turn_off_for_user(user, *, actor):
    """An admin turns off someone's two-factor sign-in (their phone is lost): as `turn_off`,
    and every session of theirs ends, as the phone may hold one."""
    if actor is not None and actor.id == user.id:
        raise TwoFactorError(
            _(
                "Turn off your own two-factor sign-in on the two-factor sign-in page, with "
                "your password."
            )
        )
    turn_off(user, actor=actor)
    user_services.end_all_sessions(user)


def _accept_totp(user, code, at):
    """True when `code` is the app's code for the step of `at` or one step either side (as
    pyotp's verify with valid_window=1) and that step is later than the last one accepted;
    that step is then the last one."""
    digits = re.sub(r"\s", "", code or "")
    if not re.fullmatch(rf"\d{{{TOTP_DIGITS}}}", digits) or not user.totp_secret:
        return False
    totp = pyotp.TOTP(user.totp_secret)
    current = int(at.timestamp()) // totp.interval
    for step in (current - 1, current, current + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        # pyotp's own verify compares this way too, in constant time.
        if hmac.compare_digest(totp.generate_otp(step), digits):
            user.totp_last_step = step
            return True
    return False


def _replace_recovery_codes(user):
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    db.session.flush()
    return [_shown(code) for code in codes]


def _shown(code):
    half = RECOVERY_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


def _normalised_recovery_code(code):
    """The code as stored, whatever case, spaces and dashes it was typed with; None when it
    cannot be a recovery code."""
    code = re.sub(r"[\s-]", "", (code or "").lower())
    if len(code) != RECOVERY_CODE_LENGTH or not set(code) <= set(RECOVERY_ALPHABET):
        return None
    return code


def _hash(code):
    return hashlib.sha256(code.encode()).hexdigest()


def _use_recovery_code(user, code, at):
    code = _normalised_recovery_code(code)
    if code is None:
        return False
    row = db.session.scalar(
        sa.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if row is None:
        return False
    row.used_at = at
    return True

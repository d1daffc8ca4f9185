"""Role checks for views."""

from functools import wraps

from flask import abort
from flask_login import current_user

from crm.extensions import login_manager


def role_required(role):
    """Allow users whose role includes `role` (admin ⊇ coordinator ⊇ member ⊇ viewer), else 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator

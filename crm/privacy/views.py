"""The public privacy notice (/privacy) and the admins' privacy pages (/admin/privacy)."""

from crm.privacy import bp  # noqa: F401

"""Figures kept once computed: the overview's last four quarters (crm/reports/snapshots.py)."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from crm.core.types import UTCDateTime
from crm.extensions import db


class FigureSnapshot(db.Model):
    """A set of figures as computed at `computed_at`, by what it covers (e.g. four quarters)."""

    __tablename__ = "figure_snapshots"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    figures: Mapped[Any] = mapped_column(sa.JSON)

"""What a task can follow up: each domain registers its kind of record here.

Kept apart from task_services, and importing nothing but the activity models, so that a
domain can register while the packages it imports are still loading.
"""

from collections.abc import Callable
from dataclasses import dataclass

from crm.activities.models import TASK_SUBJECT_COLUMNS


@dataclass(frozen=True)
class TaskSubject:
    """A kind of record a task can follow up (see register_subject)."""

    column: str
    model: type
    endpoint: str
    label: str
    name: Callable
    visible: Callable | None = None
    may_see: Callable | None = None
    on_create: Callable | None = None


# Task column ("contact_id") -> TaskSubject; each domain registers its own kind.
SUBJECTS = {}


def register_subject(
    column, *, model, endpoint, label, name, visible=None, may_see=None, on_create=None
):
    """Let tasks follow up records of `model`, kept in the Task column `column`.

    `column` is also the query argument of the task form and the argument of `endpoint`, the
    record's page; `label` names the kind, `name(record)` the record. A kind that not everyone
    may read gives both `may_see(record, user)` and `visible(user)`, the same rule as a
    condition on `model`. `on_create(record, task, actor=...)` runs after a task about a
    record was created (e.g. to note it in the record's history).
    """
    if column not in TASK_SUBJECT_COLUMNS:
        raise ValueError(f"Task has no subject column {column!r}")
    if (visible is None) != (may_see is None):
        raise ValueError("a task subject's visibility needs both may_see and visible")
    SUBJECTS[column] = TaskSubject(
        column, model, endpoint, label, name, visible, may_see, on_create
    )


def registered_subject(column):
    """The registered TaskSubject of the Task column `column`.

    Every subject column must be registered before tasks are shown: a KeyError here is
    better than a list that shows a task whose visibility rule is missing.
    """
    try:
        return SUBJECTS[column]
    except KeyError:
        raise KeyError(f"task subject {column!r} is not registered") from None


def subject_for(record):
    """The registered TaskSubject that `record` (an Organisation, an Agreement, …) is of."""
    for subject in SUBJECTS.values():
        if isinstance(record, subject.model):
            return subject
    raise ValueError(f"{record!r} is not a task subject")

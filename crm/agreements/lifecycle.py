"""The agreement status lifecycle (SPEC §2): draft → negotiation → signed → active →
expired / terminated, with the few steps back that real negotiations take."""

from blinker import Namespace

from crm.agreements.models import AgreementStatus as S

# Status → the statuses it may move to. Terminated is final; an expired agreement becomes
# active again only when it is renewed (given a new end date).
ALLOWED_TRANSITIONS = {
    S.DRAFT: (S.NEGOTIATION, S.SIGNED, S.TERMINATED),
    S.NEGOTIATION: (S.DRAFT, S.SIGNED, S.TERMINATED),
    S.SIGNED: (S.ACTIVE, S.TERMINATED),
    S.ACTIVE: (S.EXPIRED, S.TERMINATED),
    S.EXPIRED: (S.ACTIVE,),
    S.TERMINATED: (),
}

# Statuses in which the agreement binds its parties: reminders go out, coverage applies.
IN_FORCE = (S.SIGNED, S.ACTIVE)

_signals = Namespace()
# Sent in the transaction of every status change (an edit, the status buttons and board, the
# daily expiry), the agreement as the sender, with `old_status`, `new_status` and `actor`
# (None for the job): for packages above this one (crm.webhooks announces it).
status_changed = _signals.signal("agreement-status-changed")


def can_transition(current, new):
    return new == current or new in ALLOWED_TRANSITIONS[current]


def next_statuses(current):
    """The statuses a person may choose from, the current one first."""
    return (current, *ALLOWED_TRANSITIONS[current])

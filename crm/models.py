"""Every domain's models in one import, so Alembic and `db.create_all` see them all."""

from crm.activities.models import (  # noqa: F401
    Activity,
    ActivityKind,
    ActivityOrganisation,
    ActivityOrganisationRole,
    ActivityStatus,
    Task,
    TaskDueEvent,
    TaskReminder,
    activity_contacts,
    activity_staff,
)
from crm.agreements.models import (  # noqa: F401
    Agreement,
    AgreementKind,
    AgreementParty,
    AgreementReminder,
    AgreementStatus,
    PartyRole,
    ReminderEvent,
)
from crm.auth.models import (  # noqa: F401
    ApiScope,
    ApiToken,
    RecoveryCode,
    Role,
    User,
    UserIdentity,
    UserToken,
    UserTopic,
)
from crm.core.images import StoredImage  # noqa: F401
from crm.core.models import AuditEntry  # noqa: F401
from crm.core.page_cache import data_version_table  # noqa: F401
from crm.documents.models import Document, DocumentVersion  # noqa: F401
from crm.enquiries.models import (  # noqa: F401
    BotSubmissionCount,
    ClosedReason,
    Enquiry,
    EnquiryComment,
    EnquirySource,
    EnquiryStatus,
    ReplyTemplate,
    Topic,
)
from crm.mail.models import (  # noqa: F401
    Email,
    EmailDirection,
    EmailState,
    MailboxState,
    OutboxMessage,
    OutboxStatus,
)
from crm.notifications.models import Notification  # noqa: F401
from crm.organisations.models import (  # noqa: F401
    Contact,
    ContactAffiliation,
    LegalBasis,
    Membership,
    Organisation,
    OrganisationEmailDomain,
    OrganisationKind,
    OrganisationSector,
    Sector,
    SizeClass,
    Tag,
    organisation_tags,
)
from crm.privacy.models import PrivacyLogEntry, PrivacyNotice, PrivacySearch  # noqa: F401
from crm.reports.models import FigureSnapshot  # noqa: F401
from crm.saved_views.models import SavedView, SavedViewDefault  # noqa: F401
from crm.search.models import SearchEntry  # noqa: F401
from crm.settings.models import ConsentText, Setting  # noqa: F401
from crm.webhooks.models import Webhook, WebhookDelivery  # noqa: F401

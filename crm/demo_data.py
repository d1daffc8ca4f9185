"""The demo data set (SPEC §7): GMS's collaboration with industry, with fictional people.

The four industry associations, the framework agreement with them, the Microsoft MoU and
the e-learning course with Roche and Novartis come from the public Genomic Medicine Sweden
page. Everything else is made up: every person, e-mail address and phone number, the smaller
companies and their organisation numbers, the other agreements, meetings and enquiries.
Fictional companies use the reserved `.example` top-level domain, and phone numbers come from
the range PTS keeps for fiction (070-174 06 xx).

`load()` is idempotent: each record is looked up by its natural key, soft-deleted ones
included, so a second run creates nothing and a deleted demo record stays deleted. Links
(sectors, parties, memberships, …) are only made together with a record created in the same
run. Relative dates count from the day the demo users were first created, not from today,
so a `make run` on a later day finds the same activities and enquiry references.

A database loaded by the version before issue 18 is brought up to date rather than loaded
twice: the GMS partner flags that version got wrong are corrected (PREVIOUS_PARTNERS), and
the framework agreement, which then listed only the associations, gets the GMS partners as
its other side. Both changes are audited like an edit, and a flag someone set differently
from both versions is left alone.
"""

import io
from datetime import date, time, timedelta

import sqlalchemy as sa
from flask_babel import force_locale
from werkzeug.datastructures import FileStorage

from crm.activities.models import (
    Activity,
    ActivityKind,
    ActivityOrganisation,
    ActivityOrganisationRole,
    ActivityStatus,
    Task,
)
from crm.agreements import services as agreement_services
from crm.agreements.models import (
    Agreement,
    AgreementKind,
    AgreementParty,
    AgreementStatus,
    PartyRole,
)
from crm.auth import services as user_services
from crm.auth.models import Role, User, UserTopic
from crm.core import audit
from crm.core.types import utcnow
from crm.documents.models import Document
from crm.documents.services import store_document
from crm.enquiries.models import (
    ClosedReason,
    Enquiry,
    EnquiryComment,
    EnquiryStatus,
    ReplyTemplate,
    Topic,
)
from crm.extensions import db
from crm.mail.models import Email, EmailDirection, EmailState
from crm.organisations import services as organisation_services
from crm.organisations.models import (
    Contact,
    LegalBasis,
    Membership,
    Organisation,
    OrganisationEmailDomain,
    OrganisationKind,
    OrganisationSector,
    Sector,
    SizeClass,
)
from crm.settings import services as settings
from crm.settings.models import ConsentText, Setting

# Printed with the demo logins; the demo is for trying the app out, never for production.
DEMO_PASSWORD = "gms-demo-2026!"  # noqa: S105

ADMIN = "admin@example.org"
COORDINATOR = "coordinator@example.org"
MEMBER = "member@example.org"
MEMBER_2 = "member2@example.org"
MEMBER_3 = "member3@example.org"
VIEWER = "viewer@example.org"

# (e-mail, name, role): what the `crm demo-data` command prints as the demo logins.
DEMO_USERS = [
    (ADMIN, "Maja Lindqvist", Role.ADMIN.value),
    (COORDINATOR, "Erik Sandberg", Role.COORDINATOR.value),
    (MEMBER, "Sara Holm", Role.MEMBER.value),
    (MEMBER_2, "Jonas Ek", Role.MEMBER.value),
    (MEMBER_3, "Leila Haddad", Role.MEMBER.value),
    (VIEWER, "Per Viklund", Role.VIEWER.value),
]

_USER_DETAILS = {
    ADMIN: {"language": "sv", "title": "System administrator"},
    COORDINATOR: {
        "language": "sv",
        "title": "Coordinator, innovation and industry collaboration",
        "is_public_contact": True,
        "phone": "070-174 06 10",
        "topics": [Topic.INNOVATION_BUSINESS, Topic.OTHER],
    },
    MEMBER: {
        "language": "sv",
        "title": "Research coordinator, precision oncology",
        "is_public_contact": True,
        "phone": "070-174 06 11",
        "topics": [Topic.RD_COLLABORATION, Topic.CLINICAL_STUDIES],
    },
    MEMBER_2: {
        "language": "en",
        "title": "Data and infrastructure lead",
        "topics": [Topic.DATA_INFRASTRUCTURE, Topic.DIAGNOSTICS],
    },
    MEMBER_3: {
        "language": "sv",
        "title": "Education and competence lead",
        "topics": [Topic.EDUCATION, Topic.INNOVATION_BUSINESS],
    },
    VIEWER: {"language": "en", "title": "Steering group member"},
}

LIF = "Läkemedelsindustriföreningen – Lif"
SWEDISH_MEDTECH = "Swedish Medtech"
SWEDENBIO = "SwedenBIO"
SWEDISH_LABTECH = "Swedish Labtech"
ASSOCIATIONS = (LIF, SWEDISH_MEDTECH, SWEDENBIO, SWEDISH_LABTECH)

KVARNBO = "Kvarnbo Genomik AB"
SJOBERG = "Sjöberg Medtech AB"
BARNSTEN = "Bärnsten Bioinformatik AB"
FJALLVIK = "Fjällvik Diagnostics AB"
EKHOLMEN = "Ekholmen Clinical Research AB"

_ASSOCIATION = OrganisationKind.INDUSTRY_ASSOCIATION
_COMPANY = OrganisationKind.COMPANY
_REGION = OrganisationKind.HEALTHCARE_REGION
_UNIVERSITY = OrganisationKind.UNIVERSITY

REGION_SKANE = "Region Skåne"

# The GMS partners (`is_partner`): the healthcare regions with a university hospital and the
# universities with a medical faculty that run GMS together. (name, kind, city, web domain)
GMS_PARTNERS = (
    ("Region Stockholm", _REGION, "Stockholm", "regionstockholm.se"),
    ("Region Uppsala", _REGION, "Uppsala", "regionuppsala.se"),
    ("Region Östergötland", _REGION, "Linköping", "regionostergotland.se"),
    (REGION_SKANE, _REGION, "Malmö", "skane.se"),
    ("Västra Götalandsregionen", _REGION, "Göteborg", "vgregion.se"),
    ("Region Örebro län", _REGION, "Örebro", "regionorebrolan.se"),
    ("Region Västerbotten", _REGION, "Umeå", "regionvasterbotten.se"),
    ("Karolinska Institutet", _UNIVERSITY, "Solna", "ki.se"),
    ("Uppsala universitet", _UNIVERSITY, "Uppsala", "uu.se"),
    ("Linköpings universitet", _UNIVERSITY, "Linköping", "liu.se"),
    ("Lunds universitet", _UNIVERSITY, "Lund", "lu.se"),
    ("Göteborgs universitet", _UNIVERSITY, "Göteborg", "gu.se"),
    ("Örebro universitet", _UNIVERSITY, "Örebro", "oru.se"),
    ("Umeå universitet", _UNIVERSITY, "Umeå", "umu.se"),
)
GMS_PARTNER_NAMES = tuple(name for name, _kind, _city, _domain in GMS_PARTNERS)

_PARTNER_DESCRIPTIONS = {
    _REGION: "Healthcare region with a university hospital; one of the GMS partners.",
    _UNIVERSITY: "University with a medical faculty; one of the GMS partners.",
    REGION_SKANE: "Healthcare region and one of the GMS partners; the data controller "
    "for the contact form.",
}

GMS_PARTNER_ORGANISATIONS = [
    {
        "name": name,
        "kind": kind,
        "website": f"https://www.{domain}",
        "domains": [domain],
        "city": city,
        "is_partner": True,
        "description": _PARTNER_DESCRIPTIONS.get(name, _PARTNER_DESCRIPTIONS[kind]),
    }
    for name, kind, city, domain in GMS_PARTNERS
]

ORGANISATIONS = [
    {
        "name": LIF,
        "kind": _ASSOCIATION,
        "website": "https://www.lif.se",
        "domains": ["lif.se"],
        "city": "Stockholm",
        "sectors": [Sector.PHARMA],
        "description": "The trade association for the research-based pharmaceutical industry "
        "in Sweden. Party to the framework agreement with GMS.",
    },
    {
        "name": SWEDISH_MEDTECH,
        "kind": _ASSOCIATION,
        "website": "https://www.swedishmedtech.se",
        "domains": ["swedishmedtech.se"],
        "city": "Stockholm",
        "sectors": [Sector.MEDTECH],
        "description": "The trade association for medical technology companies in Sweden. "
        "Party to the framework agreement with GMS.",
    },
    {
        "name": SWEDENBIO,
        "kind": _ASSOCIATION,
        "website": "https://www.swedenbio.se",
        "domains": ["swedenbio.se"],
        "city": "Stockholm",
        "sectors": [Sector.BIOTECH],
        "description": "The industry organisation for life science companies in Sweden, "
        "from biotech to diagnostics. Party to the framework agreement with GMS.",
    },
    {
        "name": SWEDISH_LABTECH,
        "kind": _ASSOCIATION,
        "website": "https://www.swedishlabtech.se",
        "domains": ["swedishlabtech.se"],
        "city": "Stockholm",
        "sectors": [Sector.DIAGNOSTICS_LAB],
        "description": "The trade association for laboratory technology and diagnostics "
        "companies in Sweden. Party to the framework agreement with GMS.",
    },
    *GMS_PARTNER_ORGANISATIONS,
    {
        "name": "Roche",
        "kind": _COMPANY,
        "website": "https://www.roche.com",
        "domains": ["roche.com"],
        "city": "Basel",
        "country": "CH",
        "sectors": [Sector.PHARMA, Sector.DIAGNOSTICS_LAB],
        "size_class": SizeClass.LARGE,
        "owner": MEMBER,
        "description": "Made the e-learning course on breast cancer together with GMS "
        "and Novartis.",
    },
    {
        "name": "Novartis",
        "kind": _COMPANY,
        "website": "https://www.novartis.com",
        "domains": ["novartis.com"],
        "city": "Basel",
        "country": "CH",
        "sectors": [Sector.PHARMA],
        "size_class": SizeClass.LARGE,
        "owner": MEMBER,
        "description": "Made the e-learning course on breast cancer together with GMS and Roche.",
    },
    {
        "name": "Microsoft",
        "kind": _COMPANY,
        "website": "https://www.microsoft.com",
        "domains": ["microsoft.com"],
        "city": "Redmond",
        "country": "US",
        "sectors": [Sector.IT_AI_DATA],
        "size_class": SizeClass.LARGE,
        "owner": MEMBER_2,
        "description": "GMS has a Memorandum of Understanding with Microsoft on data, cloud "
        "and AI for precision medicine.",
    },
    {
        "name": "AstraZeneca",
        "kind": _COMPANY,
        "website": "https://www.astrazeneca.com",
        "domains": ["astrazeneca.com"],
        "city": "Cambridge",
        "country": "GB",
        "sectors": [Sector.PHARMA],
        "size_class": SizeClass.LARGE,
        "owner": COORDINATOR,
    },
    {
        "name": "Illumina",
        "kind": _COMPANY,
        "website": "https://www.illumina.com",
        "domains": ["illumina.com"],
        "city": "San Diego",
        "country": "US",
        "sectors": [Sector.DIAGNOSTICS_LAB, Sector.BIOTECH],
        "size_class": SizeClass.LARGE,
        "owner": MEMBER_2,
    },
    # Fictional Swedish companies; their organisation numbers are made up and Luhn-valid.
    {
        "name": KVARNBO,
        "kind": _COMPANY,
        "org_number": "559214-7309",
        "website": "https://kvarnbo-genomik.example",
        "domains": ["kvarnbo-genomik.example"],
        "city": "Uppsala",
        "sectors": [Sector.BIOTECH, Sector.DIAGNOSTICS_LAB],
        "size_class": SizeClass.SMALL,
        "owner": MEMBER,
        "description": "Develops liquid-biopsy assays for circulating tumour DNA.",
    },
    {
        "name": SJOBERG,
        "kind": _COMPANY,
        "org_number": "559287-1536",
        "website": "https://sjoberg-medtech.example",
        "domains": ["sjoberg-medtech.example"],
        "city": "Göteborg",
        "sectors": [Sector.MEDTECH],
        "size_class": SizeClass.MEDIUM,
        "description": "Sample handling and biobank equipment for hospital laboratories.",
    },
    {
        "name": BARNSTEN,
        "kind": _COMPANY,
        "org_number": "559301-8467",
        "website": "https://barnsten-bio.example",
        "domains": ["barnsten-bio.example"],
        "city": "Lund",
        "sectors": [Sector.IT_AI_DATA, Sector.BIOTECH],
        "size_class": SizeClass.MICRO,
        "owner": MEMBER_2,
        "description": "Bioinformatics pipelines and variant interpretation software.",
    },
    {
        "name": FJALLVIK,
        "kind": _COMPANY,
        "org_number": "559156-4926",
        "website": "https://fjallvik-diagnostics.example",
        "domains": ["fjallvik-diagnostics.example"],
        "city": "Linköping",
        "sectors": [Sector.DIAGNOSTICS_LAB],
        "size_class": SizeClass.SMALL,
        "owner": MEMBER_2,
        "description": "Gene panels for hereditary cancer diagnostics.",
    },
    {
        "name": EKHOLMEN,
        "kind": _COMPANY,
        "org_number": "559248-0171",
        "website": "https://ekholmen-cr.example",
        "domains": ["ekholmen-cr.example"],
        "city": "Stockholm",
        "sectors": [Sector.CRO],
        "size_class": SizeClass.SMALL,
        "description": "Contract research organisation for early clinical studies in oncology.",
    },
]

# The version of this data set before issue 18 marked these companies as GMS partners and
# left Region Skåne unmarked; `crm demo-data` corrects a database it loaded.
PREVIOUS_PARTNERS = frozenset({"Roche", "Novartis", "Microsoft", KVARNBO, FJALLVIK})

# (member, association, member since)
MEMBERSHIPS = [
    ("Roche", LIF, None),
    ("Novartis", LIF, None),
    ("AstraZeneca", LIF, None),
    ("Illumina", SWEDISH_LABTECH, None),
    (KVARNBO, SWEDENBIO, date(2021, 3, 1)),
    (BARNSTEN, SWEDENBIO, date(2023, 9, 15)),
    (SJOBERG, SWEDISH_MEDTECH, date(2019, 1, 1)),
    (FJALLVIK, SWEDISH_LABTECH, date(2020, 6, 1)),
]

CONTACTS = [
    {
        "first_name": "Karin",
        "last_name": "Lundgren",
        "email": "karin.lundgren@example.com",
        "title": "Policy adviser, life science",
        "organisation": LIF,
        "owner": COORDINATOR,
    },
    {
        "first_name": "Anders",
        "last_name": "Nyberg",
        "email": "anders.nyberg@example.com",
        "title": "Head of healthcare collaboration",
        "organisation": SWEDISH_MEDTECH,
        "owner": COORDINATOR,
    },
    {
        "first_name": "Sofia",
        "last_name": "Wennberg",
        "email": "sofia.wennberg@example.com",
        "title": "Member relations manager",
        "organisation": SWEDENBIO,
        "owner": COORDINATOR,
    },
    {
        "first_name": "Mikael",
        "last_name": "Åström",
        "email": "mikael.astrom@example.com",
        "title": "Director, diagnostics",
        "organisation": SWEDISH_LABTECH,
        "owner": COORDINATOR,
    },
    {
        "first_name": "Elin",
        "last_name": "Forsberg",
        "email": "elin.forsberg@example.com",
        "title": "Medical affairs manager",
        "organisation": "Roche",
        "owner": MEMBER,
    },
    {
        "first_name": "Johan",
        "last_name": "Berglund",
        "email": "johan.berglund@example.com",
        "title": "Medical education lead",
        "organisation": "Novartis",
        "owner": MEMBER,
    },
    {
        "first_name": "Nadia",
        "last_name": "Karimi",
        "email": "nadia.karimi@example.com",
        "title": "Health and life sciences lead",
        "organisation": "Microsoft",
        "owner": MEMBER_2,
        "legal_basis": LegalBasis.CONSENT,
    },
    {
        "first_name": "Oskar",
        "last_name": "Lind",
        "email": "oskar.lind@kvarnbo-genomik.example",
        "phone": "070-174 06 21",
        "title": "CEO",
        "organisation": KVARNBO,
        "owner": MEMBER,
    },
    {
        "first_name": "Ida",
        "last_name": "Strand",
        "email": "ida.strand@fjallvik-diagnostics.example",
        "phone": "070-174 06 22",
        "title": "Business development manager",
        "organisation": FJALLVIK,
        "owner": MEMBER_2,
    },
    {
        "first_name": "Gustav",
        "last_name": "Hedlund",
        "email": "gustav.hedlund@sjoberg-medtech.example",
        "title": "Sales director",
        "organisation": SJOBERG,
        "do_not_contact": True,
        "notes": "Asked not to receive invitations to events.",
    },
]

FRAMEWORK = "Framework agreement with Lif, Swedish Medtech, SwedenBIO and Swedish Labtech"
MICROSOFT_MOU = "Memorandum of Understanding between Genomic Medicine Sweden and Microsoft"
FJALLVIK_DATA = "Data-sharing agreement – Fjällvik Diagnostics gene panel pilot"

# Dates are days relative to the anchor day (see the module docstring).
AGREEMENTS = [
    {
        "title": FRAMEWORK,
        "kind": AgreementKind.FRAMEWORK,
        "status": AgreementStatus.ACTIVE,
        "signed": -710,
        "start": -700,
        "end": 1125,
        "is_public": True,
        "covers_members": True,
        "our_signatory": "Programme director, Genomic Medicine Sweden",
        "owner": COORDINATOR,
        # The GMS partners on one side, the four associations on the other.
        "parties": [(name, PartyRole.PARTY) for name in GMS_PARTNER_NAMES]
        + [(name, PartyRole.SIGNATORY) for name in ASSOCIATIONS],
        "description": "Sets out how GMS and companies that are members of the four industry "
        "associations collaborate: information and dialogue meetings, education, and joint "
        "research and development, on equal terms for all companies.",
    },
    {
        "title": MICROSOFT_MOU,
        "kind": AgreementKind.MOU,
        "status": AgreementStatus.ACTIVE,
        "signed": -500,
        "start": -500,
        "end": 595,
        "is_public": True,
        "our_signatory": "Programme director, Genomic Medicine Sweden",
        "owner": MEMBER_2,
        "parties": [("Microsoft", PartyRole.SIGNATORY)],
        "description": "A shared intent to explore secure cloud infrastructure, data "
        "management and AI for genomic medicine in Swedish healthcare.",
    },
    {
        "title": "Confidentiality agreement – Kvarnbo Genomik liquid-biopsy project",
        "kind": AgreementKind.NDA,
        "status": AgreementStatus.NEGOTIATION,
        "owner": MEMBER,
        "parties": [(KVARNBO, PartyRole.PARTY)],
        "description": "Mutual confidentiality before discussing a joint validation study.",
    },
    {
        "title": FJALLVIK_DATA,
        "kind": AgreementKind.DATA_SHARING,
        "status": AgreementStatus.ACTIVE,
        "signed": -330,
        "start": -320,
        # Ends within the renewal notice, so the overview shows it as ending soon.
        "end": 45,
        "owner": MEMBER_2,
        "parties": [(FJALLVIK, PartyRole.PARTY), ("Region Skåne", PartyRole.OBSERVER)],
        "description": "Pseudonymised variant data for evaluating a hereditary cancer panel.",
    },
    {
        "title": "Collaboration agreement – AstraZeneca biomarker feasibility study",
        "kind": AgreementKind.COLLABORATION,
        "status": AgreementStatus.EXPIRED,
        "signed": -920,
        "start": -900,
        "end": -170,
        "renewal_notice_days": 60,
        "owner": COORDINATOR,
        "parties": [("AstraZeneca", PartyRole.PARTY)],
    },
]

COURSE = "Precision medicine in practice – Breast cancer"
MICROSOFT_PILOT = "Pilot with Microsoft: secure cloud analysis of genomic data"
LIF_DIALOGUE = "Dialogue meeting with Lif"

_PARTNER = ActivityOrganisationRole.PARTNER
_PARTICIPANT = ActivityOrganisationRole.PARTICIPANT
_SPONSOR = ActivityOrganisationRole.SPONSOR

ACTIVITIES = [
    {
        "title": COURSE,
        "kind": ActivityKind.COURSE,
        "start": -300,
        "is_online": True,
        "status": ActivityStatus.ONGOING,
        "agreement": FRAMEWORK,
        "organisations": [("Roche", _PARTNER), ("Novartis", _PARTNER)],
        "contacts": ["elin.forsberg@example.com", "johan.berglund@example.com"],
        "staff": [MEMBER, MEMBER_3],
        "description": "A web-based e-learning course for healthcare staff, made by GMS "
        "together with Roche and Novartis.",
        "is_public": True,
        "public_summary": "A free, web-based course on how genomic analyses guide the "
        "diagnosis and treatment of breast cancer, made by Genomic Medicine Sweden together "
        "with Roche and Novartis.",
    },
    {
        "title": "Information meeting: how to collaborate with GMS",
        "kind": ActivityKind.INFORMATION_MEETING,
        "start": -120,
        "start_time": time(9, 0),
        "end_time": time(10, 30),
        "is_online": True,
        "status": ActivityStatus.COMPLETED,
        "agreement": FRAMEWORK,
        "organisations": [(name, _PARTICIPANT) for name in ASSOCIATIONS],
        "contacts": ["karin.lundgren@example.com", "sofia.wennberg@example.com"],
        "staff": [COORDINATOR, MEMBER],
        "description": "An open meeting for member companies of the four associations.",
        "outcome": "About 60 participants; many questions on access to genomic data.",
        "is_public": True,
        "public_summary": "An online information meeting on how companies can collaborate "
        "with Genomic Medicine Sweden.",
    },
    {
        "title": LIF_DIALOGUE,
        "kind": ActivityKind.DIALOGUE_MEETING,
        "start": -60,
        "start_time": time(13, 0),
        "end_time": time(15, 0),
        "place": "Stockholm",
        "status": ActivityStatus.COMPLETED,
        "agreement": FRAMEWORK,
        "organisations": [(LIF, _PARTICIPANT)],
        "contacts": ["karin.lundgren@example.com"],
        "staff": [COORDINATOR, MEMBER],
        "outcome": "Agreed to hold a joint seminar on clinical studies in precision oncology.",
    },
    {
        "title": "Seminar: genomic data and AI in healthcare",
        "kind": ActivityKind.SEMINAR,
        "start": -30,
        "start_time": time(10, 0),
        "end_time": time(12, 0),
        "place": "Lund",
        "status": ActivityStatus.COMPLETED,
        "agreement": MICROSOFT_MOU,
        "organisations": [("Microsoft", _PARTNER), (BARNSTEN, _PARTICIPANT)],
        "contacts": ["nadia.karimi@example.com"],
        "staff": [MEMBER_2],
        "outcome": "Follow-up workshop on secure processing environments proposed.",
        "is_public": True,
        "public_summary": "A seminar on what genomic data and AI can do for healthcare, "
        "and how to do it safely.",
    },
    {
        "title": "Information meeting for SwedenBIO members",
        "kind": ActivityKind.INFORMATION_MEETING,
        "start": 14,
        "start_time": time(14, 0),
        "end_time": time(15, 0),
        "is_online": True,
        "status": ActivityStatus.PLANNED,
        "agreement": FRAMEWORK,
        "organisations": [(SWEDENBIO, _PARTNER), (KVARNBO, _PARTICIPANT)],
        "contacts": ["sofia.wennberg@example.com", "oskar.lind@kvarnbo-genomik.example"],
        "staff": [MEMBER_3],
    },
    {
        "title": "Dialogue meeting with Swedish Medtech and Swedish Labtech",
        "kind": ActivityKind.DIALOGUE_MEETING,
        "start": 21,
        "start_time": time(9, 30),
        "end_time": time(11, 30),
        "place": "Göteborg",
        "status": ActivityStatus.PLANNED,
        "agreement": FRAMEWORK,
        "organisations": [(SWEDISH_MEDTECH, _PARTICIPANT), (SWEDISH_LABTECH, _PARTICIPANT)],
        "contacts": ["anders.nyberg@example.com", "mikael.astrom@example.com"],
        "staff": [COORDINATOR, MEMBER_2],
    },
    {
        "title": "Seminar: clinical studies in precision oncology",
        "kind": ActivityKind.SEMINAR,
        "start": 45,
        "start_time": time(13, 0),
        "end_time": time(16, 0),
        "place": "Stockholm",
        "status": ActivityStatus.PLANNED,
        "agreement": FRAMEWORK,
        "organisations": [
            (LIF, _PARTNER),
            ("AstraZeneca", _SPONSOR),
            ("Illumina", _PARTICIPANT),
            (EKHOLMEN, _PARTICIPANT),
        ],
        "contacts": ["karin.lundgren@example.com"],
        "staff": [COORDINATOR, MEMBER],
        "is_public": True,
        "public_summary": "A seminar for companies and healthcare on running clinical "
        "studies with genomic inclusion criteria in Sweden.",
    },
    {
        "title": "Introductory meeting with Kvarnbo Genomik",
        "kind": ActivityKind.DIALOGUE_MEETING,
        "start": -8,
        "start_time": time(10, 0),
        "end_time": time(11, 0),
        "is_online": True,
        "status": ActivityStatus.COMPLETED,
        "enquiry": "kvarnbo",
        "organisations": [(KVARNBO, _PARTICIPANT)],
        "contacts": ["oskar.lind@kvarnbo-genomik.example"],
        "staff": [MEMBER],
        "outcome": "Interest in validating their assay on GMS samples; NDA under negotiation.",
    },
    {
        "title": MICROSOFT_PILOT,
        "kind": ActivityKind.JOINT_RD_PROJECT,
        "start": -90,
        "end": 275,
        "status": ActivityStatus.ONGOING,
        "agreement": MICROSOFT_MOU,
        "organisations": [("Microsoft", _PARTNER), ("Karolinska Institutet", _PARTICIPANT)],
        "contacts": ["nadia.karimi@example.com"],
        "staff": [MEMBER_2],
        "description": "A one-year pilot under the MoU: a secure cloud environment for "
        "analysing genomic data, tried out with synthetic data before any patient data.",
        "is_public": True,
        "public_summary": "Under our Memorandum of Understanding with Microsoft we are "
        "testing how genomic data from healthcare can be analysed in a secure cloud "
        "environment that meets Swedish rules for patient data. The pilot runs for a year "
        "with synthetic data, and what we learn is shared with the regions and universities "
        "in Genomic Medicine Sweden.",
    },
]

CONSENT_TEXTS = {
    "sv": "Genom att fylla i formuläret godkänner du att Region Skåne behandlar dina "
    "personuppgifter för att kunna besvara och följa upp din förfrågan. Uppgifterna sparas "
    "så länge ärendet pågår och därefter i högst 24 månader. Du har rätt att få veta vilka "
    "uppgifter vi har om dig och att begära att de rättas eller raderas.",
    "en": "By filling in this form, you agree that Region Skåne processes your personal "
    "information in order to answer and follow up your enquiry. The information is kept while "
    "the matter is open and for at most 24 months after that. You have the right to know what "
    "information we hold about you and to ask for it to be corrected or erased.",
}

SETTINGS = {
    # The office's name per language (shown in the header, on the public page, in e-mails);
    # "office_name" is the one name of earlier versions, read where no language is known.
    "office_name_sv": "Innovation- och företagssamverkan",
    "office_name_en": "Innovation and industry collaboration",
    "office_name": "Genomic Medicine Sweden – Innovation and industry collaboration",
    "intro_sv": "Genomic Medicine Sweden (GMS) är en nationell satsning på precisionsmedicin "
    "där Sveriges hälso- och sjukvårdsregioner och universitet samarbetar. Arbetsgruppen för "
    "innovation och industrisamverkan är företagens väg in till GMS.\n\n"
    "Vi har ett ramavtal med branschorganisationerna Läkemedelsindustriföreningen (Lif), "
    "Swedish Medtech, SwedenBIO och Swedish Labtech, och en avsiktsförklaring (MoU) med "
    "Microsoft. Tillsammans med företag ordnar vi informations- och dialogmöten, seminarier "
    "och utbildningar.\n\n"
    "Vill ditt företag samarbeta med oss? Fyll i kontaktformuläret så hör vi av oss.",
    "intro_en": "Genomic Medicine Sweden (GMS) is a national precision-medicine initiative in "
    "which Sweden's healthcare regions and universities work together. The working group for "
    "innovation and industry collaboration is the way in to GMS for companies.\n\n"
    "We have a framework agreement with the industry associations Läkemedelsindustriföreningen "
    "(Lif), Swedish Medtech, SwedenBIO and Swedish Labtech, and a Memorandum of Understanding "
    "with Microsoft. Together with companies we hold information and dialogue meetings, "
    "seminars and courses.\n\n"
    "Would your company like to collaborate with us? Fill in the contact form and we will get "
    "back to you.",
    "data_controller": "Region Skåne",
    "retention_months": 24,
    "notification_recipients": [COORDINATOR],
}

# Enquiries, oldest first. Hours count back from the anchor; the others forward from receipt.
ENQUIRIES = [
    {
        "key": "answered",
        "hours_ago": 40 * 24,
        "name": "Lucas Moreau",
        "email": "lucas.moreau@example.com",
        "organisation_name": "Santé Analytics SAS",
        "organisation_type": "company",
        "topic": Topic.EDUCATION,
        "language": "en",
        "message": "Is the e-learning course on precision medicine in breast cancer open to "
        "staff of companies outside Sweden, and is it available in English?",
        "status": EnquiryStatus.CLOSED,
        "closed_reason": ClosedReason.ANSWERED,
        "assignee": MEMBER_3,
        "assigned_after": 5,
        "responded_after": 26,
        "done_after": 27,
        "comments": [(MEMBER_3, 26, "Answered: the course is open to everyone, in English.")],
    },
    {
        "key": "kvarnbo",
        "hours_ago": 33 * 24,
        "name": "Oskar Lind",
        "email": "oskar.lind@kvarnbo-genomik.example",
        "phone": "070-174 06 21",
        "organisation_name": "Kvarnbo Genomik",
        "organisation_type": "company",
        "topic": Topic.RD_COLLABORATION,
        "language": "sv",
        "message": "Hej! Vi utvecklar analyser av cirkulerande tumör-DNA och vill gärna "
        "validera dem tillsammans med en av GMS regionala noder. Vem kan vi prata med?",
        "status": EnquiryStatus.CONVERTED,
        "assignee": MEMBER,
        "assigned_after": 3,
        "responded_after": 20,
        "done_after": 24 * 5,
        "organisation": KVARNBO,
        "contact": "oskar.lind@kvarnbo-genomik.example",
        "comments": [
            (MEMBER, 20, "Ringde Oskar; bokar ett introduktionsmöte."),
            (MEMBER, 24 * 5, "Konverterad: organisation och kontakt finns nu i registret."),
        ],
    },
    {
        "key": "not_relevant",
        "hours_ago": 26 * 24,
        "name": "Kjell Persson",
        "email": "kjell.persson@example.se",
        "organisation_name": "Persson Kontorsinredning",
        "organisation_type": "company",
        "topic": Topic.OTHER,
        "language": "sv",
        "message": "Vi säljer ergonomiska kontorsmöbler till offentlig sektor och vill boka "
        "ett möte med er inköpsavdelning.",
        "status": EnquiryStatus.CLOSED,
        "closed_reason": ClosedReason.NOT_RELEVANT,
        "assignee": COORDINATOR,
        "assigned_after": 2,
        "responded_after": 4,
        "done_after": 4,
        "comments": [(COORDINATOR, 4, "Hänvisat till regionens upphandlingsenhet.")],
    },
    {
        "key": "fjallvik",
        "hours_ago": 21 * 24,
        "name": "Ida Strand",
        "email": "ida.strand@fjallvik-diagnostics.example",
        "organisation_name": "Fjällvik Diagnostics",
        "organisation_type": "company",
        "topic": Topic.DIAGNOSTICS,
        "language": "en",
        "message": "We would like to discuss extending our gene panel pilot to more "
        "regions. Who is the right person to talk to?",
        "status": EnquiryStatus.CONVERTED,
        "assignee": MEMBER_2,
        "assigned_after": 6,
        "responded_after": 30,
        "done_after": 24 * 3,
        "organisation": FJALLVIK,
        "contact": "ida.strand@fjallvik-diagnostics.example",
        "comments": [(MEMBER_2, 30, "Linked to the existing data-sharing agreement.")],
    },
    {
        "key": "spam",
        "hours_ago": 15 * 24,
        "name": "Top Rank SEO",
        "email": "offers@example.com",
        "topic": Topic.OTHER,
        "language": "en",
        "message": "Get your website to number 1 on all search engines in 7 days!!!",
        "status": EnquiryStatus.CLOSED,
        "closed_reason": ClosedReason.SPAM,
        "assignee": COORDINATOR,
        "assigned_after": 1,
        "done_after": 1,
    },
    {
        "key": "vinterbro",
        "hours_ago": 12 * 24,
        "name": "Fredrik Holmberg",
        "email": "fredrik.holmberg@example.se",
        "phone": "070-174 06 31",
        "organisation_name": "Vinterbro Medtech AB",
        "organisation_type": "company",
        "topic": Topic.RD_COLLABORATION,
        "language": "sv",
        "message": "Vi har tagit fram ett nytt provrör för stabilisering av cellfritt DNA och "
        "söker samarbetspartner inom vården för en utvärdering.",
        "status": EnquiryStatus.IN_PROGRESS,
        "assignee": MEMBER,
        "assigned_after": 4,
        "responded_after": 28,
        "comments": [(MEMBER, 28, "Mejlat och frågat efter underlag om provröret.")],
    },
    {
        "key": "duplicate",
        "hours_ago": 12 * 24 - 2,
        "name": "Fredrik Holmberg",
        "email": "fredrik.holmberg@example.se",
        "organisation_name": "Vinterbro Medtech AB",
        "organisation_type": "company",
        "topic": Topic.RD_COLLABORATION,
        "language": "sv",
        "message": "Skickar igen ifall det första meddelandet inte kom fram: vi söker "
        "samarbetspartner för att utvärdera ett nytt provrör.",
        "status": EnquiryStatus.CLOSED,
        "closed_reason": ClosedReason.DUPLICATE,
        "assignee": COORDINATOR,
        "assigned_after": 1,
        "done_after": 2,
    },
    {
        "key": "datawell",
        "hours_ago": 9 * 24,
        "name": "Sarah Mitchell",
        "email": "sarah.mitchell@example.com",
        "organisation_name": "Datawell Health Inc.",
        "organisation_type": "company",
        "topic": Topic.DATA_INFRASTRUCTURE,
        "language": "en",
        "message": "We build federated analysis tools for genomic data. How do GMS regions "
        "share data today, and would a pilot of federated queries be of interest?",
        "status": EnquiryStatus.WAITING,
        "assignee": MEMBER_2,
        "assigned_after": 2,
        "responded_after": 22,
        "comments": [(MEMBER_2, 20, "Asked the data team which regions run federated nodes.")],
        # (author, hours after receipt, body): sent from the enquiry, shown in its conversation.
        "replies": [
            (
                MEMBER_2,
                22,
                "Dear Sarah,\n\nThank you for your enquiry. Today each GMS region keeps its own "
                "genomic data, and national analyses run on a shared platform under agreements "
                "between the regions. A pilot of federated queries could be of interest.\n\n"
                "I have attached an overview of the national data infrastructure. Could you tell "
                "us more about how your tools handle consent and logging?\n\nBest regards,\n"
                "Erik",
            )
        ],
    },
    {
        "key": "nystrom",
        "hours_ago": 7 * 24,
        "name": "Olle Nyström",
        "email": "olle.nystrom@example.se",
        "organisation_name": "Norrlands Vårdutbildning AB",
        "organisation_type": "company",
        "topic": Topic.EDUCATION,
        "language": "sv",
        "message": "Vi vill ta fram en kurs i genetik för sjuksköterskor och undrar om GMS "
        "kan bidra med innehåll eller föreläsare.",
        "status": EnquiryStatus.IN_PROGRESS,
        "assignee": MEMBER_3,
        "assigned_after": 3,
        "responded_after": 30,
    },
    {
        "key": "nordic_trials",
        "hours_ago": 5 * 24,
        "name": "Priya Raman",
        "email": "priya.raman@example.com",
        "organisation_name": "Nordic Trials CRO",
        "organisation_type": "company",
        "topic": Topic.CLINICAL_STUDIES,
        "language": "en",
        "message": "We are planning a basket trial with genomic inclusion criteria and would "
        "like to understand how patients could be identified through GMS.",
        "status": EnquiryStatus.ASSIGNED,
        "assignee": MEMBER,
        "assigned_after": 5,
    },
    {
        "key": "alpine",
        "hours_ago": 4 * 24,
        "name": "Thomas Keller",
        "email": "thomas.keller@example.com",
        "organisation_name": "Alpine Diagnostics GmbH",
        "organisation_type": "company",
        "topic": Topic.DIAGNOSTICS,
        "language": "en",
        "message": "Our CE-marked companion diagnostic is entering the Nordic market. Could "
        "we present it to the GMS diagnostics working group?",
        "status": EnquiryStatus.ASSIGNED,
        "assignee": MEMBER_2,
        "assigned_after": 20,
    },
    {
        "key": "eklund",
        "hours_ago": 3 * 24,
        "name": "Maria Eklund",
        "email": "maria.eklund@example.se",
        "organisation_name": "Eklund Life Science Consulting",
        "organisation_type": "company",
        "topic": Topic.INNOVATION_BUSINESS,
        "language": "sv",
        "message": "Jag hjälper små bolag att hitta vägar in i vården. Finns det en "
        "beskrivning av hur ett företag går tillväga för att samarbeta med GMS?",
        "status": EnquiryStatus.ASSIGNED,
        "assignee": MEMBER_3,
        "assigned_after": 6,
    },
    {
        "key": "nordljus",
        "hours_ago": 30,
        "name": "Lena Ström",
        "email": "lena.strom@example.se",
        "phone": "070-174 06 41",
        "organisation_name": "Nordljus Biotech AB",
        "organisation_type": "company",
        "topic": Topic.RD_COLLABORATION,
        "language": "sv",
        "message": "Hej! Vi är ett litet bioteknikbolag i Umeå som vill diskutera ett "
        "forskningssamarbete kring sällsynta diagnoser. Vem kan vi kontakta?",
        "status": EnquiryStatus.NEW,
    },
    {
        "key": "helix",
        "hours_ago": 20,
        "name": "Daniel Okafor",
        "email": "daniel.okafor@example.com",
        "organisation_name": "Helix Cloud Ltd",
        "organisation_type": "company",
        "topic": Topic.DATA_INFRASTRUCTURE,
        "language": "en",
        "message": "We provide secure cloud storage for genomic data and would like a short "
        "introductory call about your requirements.",
        "status": EnquiryStatus.NEW,
    },
    {
        "key": "patients",
        "hours_ago": 3,
        "name": "Hanna Järvinen",
        "email": "hanna.jarvinen@example.se",
        "organisation_name": "Bröstcancerföreningen Vågen",
        "organisation_type": "patient_organisation",
        "topic": Topic.EDUCATION,
        "language": "sv",
        "message": "Får vi tipsa våra medlemmar om e-utbildningen om precisionsmedicin vid "
        "bröstcancer, och finns det material skrivet för patienter?",
        "status": EnquiryStatus.NEW,
    },
]

# Documents, written as small PDFs. `owner` is ("agreement" | "activity", title).
DOCUMENTS = [
    {
        "title": "Strategy for collaboration with industry",
        "filename": "gms-industry-collaboration-strategy.pdf",
        "owner": ("activity", "Information meeting: how to collaborate with GMS"),
        "is_public": True,
        "description": "How Genomic Medicine Sweden works with companies (demo text).",
        "lines": [
            "Strategy for collaboration with industry (demo document)",
            "Equal terms for all companies; open information and dialogue meetings;",
            "joint research and development under agreed frameworks.",
        ],
    },
    {
        "title": "Framework agreement with the industry associations",
        "filename": "framework-agreement-industry-associations.pdf",
        "owner": ("agreement", FRAMEWORK),
        "is_public": True,
        "description": "The signed framework agreement (demo text).",
        "lines": [
            "Framework agreement between Genomic Medicine Sweden and",
            "Lif, Swedish Medtech, SwedenBIO and Swedish Labtech (demo document).",
        ],
    },
    {
        "title": "NDA draft with comments",
        "filename": "kvarnbo-nda-draft.pdf",
        "owner": ("agreement", "Confidentiality agreement – Kvarnbo Genomik liquid-biopsy project"),
        "is_public": False,
        "lines": ["Confidentiality agreement, draft 2 with comments (demo document)."],
    },
]


def simple_pdf(lines):
    """A one-page PDF showing `lines` in Helvetica (ASCII only), with a correct xref table."""
    text = " ".join(
        f"({line.encode('ascii', 'replace').decode().replace('(', '[').replace(')', ']')}) Tj T*"
        for line in lines
    )
    stream = f"BT /F1 12 Tf 16 TL 56 780 Td {text} ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


# Reply templates admins keep, per language: (language, name, body).
REPLY_TEMPLATES = [
    (
        "sv",
        "Tack, vi återkommer",
        "Hej!\n\nTack för ditt meddelande. Vi har tagit emot din förfrågan och återkommer inom "
        "några arbetsdagar.\n\nVänliga hälsningar",
    ),
    (
        "sv",
        "Förslag på möte",
        "Hej!\n\nTack för ditt meddelande. Vi vill gärna veta mer och föreslår ett digitalt "
        "möte på 30 minuter. Vilka tider passar dig de närmaste två veckorna?\n\n"
        "Vänliga hälsningar",
    ),
    (
        "en",
        "Thanks, we will be in touch",
        "Hello,\n\nThank you for your message. We have received your enquiry and will get back "
        "to you within a few working days.\n\nBest regards",
    ),
    (
        "en",
        "Suggest a meeting",
        "Hello,\n\nThank you for your message. We would like to hear more and suggest a "
        "30-minute video call. Which times suit you in the next two weeks?\n\nBest regards",
    ),
]

TASKS = [
    {
        "title": "Send the notes from the dialogue meeting to Lif",
        "assignee": MEMBER,
        "due": 5,
        "activity": LIF_DIALOGUE,
    },
    {
        "title": "Prepare the renewal of the Fjällvik data-sharing agreement",
        "assignee": MEMBER_2,
        "due": 14,
        "agreement": FJALLVIK_DATA,
    },
    {
        "title": "Propose dates for an evaluation meeting with Vinterbro Medtech",
        "assignee": MEMBER,
        "due": 3,
        "enquiry": "vinterbro",
    },
    {
        "title": "Check the contact people at Swedish Labtech",
        "assignee": MEMBER_3,
        "due": 30,
        "organisation": SWEDISH_LABTECH,
    },
]


# The default audit actor of a demo record; enquiries have none (they come from the form).
_ADMIN_ACTOR = object()


def load():
    """Create whatever part of the demo data set is missing and correct what an earlier
    version loaded wrongly; return how many records were made or changed.

    Never commits: the `crm demo-data` command does.
    """
    return _Loader().run()


class _Loader:
    def __init__(self):
        # Records made, and records of an earlier version corrected.
        self.created = 0

    def run(self):
        self.users = self._users()
        self.admin = self.users[ADMIN]
        self.now = self._anchor()
        self.today = self.now.date()
        self.consent_texts = self._consent_texts()
        self._settings()
        self.organisations = self._organisations()
        self._memberships()
        self.contacts = self._contacts()
        self.agreements = self._agreements()
        self._reply_templates()
        self.enquiries = self._enquiries()
        self.activities = self._activities()
        self._tasks()
        self._documents()
        db.session.flush()
        return self.created

    # Helpers

    def _get_or_create(self, model, key, *, audited=True, actor=_ADMIN_ACTOR, **fields):
        """(record, created): the first record matching `key`, soft-deleted ones included."""
        existing = db.session.scalar(sa.select(model).filter_by(**key).order_by(model.id).limit(1))
        if existing is not None:
            return existing, False
        if "created_by_id" not in fields:
            fields["created_by_id"] = self.admin.id
        record = model(**key, **fields)
        db.session.add(record)
        self.created += 1
        if audited:
            audit.record(record, "create", actor=self.admin if actor is _ADMIN_ACTOR else actor)
        return record, True

    def _add(self, record):
        db.session.add(record)
        self.created += 1
        return record

    def _day(self, offset):
        return None if offset is None else self.today + timedelta(days=offset)

    def _user_id(self, email):
        return self.users[email].id if email else None

    # Parts of the data set, in the order they depend on each other

    def _users(self):
        users = {}
        admin = None
        for email, name, role in DEMO_USERS:
            user = user_services.get_user_by_email(email)
            if user is None:
                details = _USER_DETAILS[email]
                user = user_services.create_user(
                    email=email,
                    name=name,
                    role=role,
                    password=DEMO_PASSWORD,
                    actor=admin,
                    language=details["language"],
                )
                user.title = details.get("title")
                user.phone = details.get("phone")
                user.is_public_contact = details.get("is_public_contact", False)
                self.created += 1
                for topic in details.get("topics", []):
                    user.topics.append(self._add(UserTopic(topic=topic)))
            if email == ADMIN:
                admin = user
            users[email] = user
        db.session.flush()
        return users

    def _anchor(self):
        """When the demo users were first created: the `now` that relative times count from."""
        emails = [email for email, _name, _role in DEMO_USERS]
        anchor = db.session.scalar(
            sa.select(sa.func.min(User.created_at)).where(User.email.in_(emails))
        )
        return anchor or utcnow()

    def _consent_texts(self):
        texts = {}
        for language, body in CONSENT_TEXTS.items():
            texts[language], _created = self._get_or_create(
                ConsentText, {"version": 1, "language": language}, audited=False, body=body
            )
        return texts

    def _settings(self):
        for key, value in SETTINGS.items():
            # Only missing settings: an admin's own office name or texts are kept.
            if db.session.get(Setting, key) is None:
                settings.put(key, value, actor=self.admin)
                self.created += 1

    def _organisations(self):
        organisations = {}
        self.new_organisations = set()
        for spec in ORGANISATIONS:
            organisation, created = self._get_or_create(
                Organisation,
                {"name": spec["name"]},
                kind=spec["kind"],
                org_number=spec.get("org_number"),
                website=spec.get("website"),
                country=spec.get("country", "SE"),
                city=spec.get("city"),
                size_class=spec.get("size_class"),
                description=spec.get("description"),
                is_partner=spec.get("is_partner", False),
                owner_id=self._user_id(spec.get("owner")),
            )
            if created:
                self.new_organisations.add(spec["name"])
                for sector in spec.get("sectors", []):
                    organisation.sectors.append(self._add(OrganisationSector(sector=sector)))
                for domain in spec.get("domains", []):
                    organisation.email_domains.append(
                        self._add(OrganisationEmailDomain(domain=domain))
                    )
            else:
                self._correct_partner_flag(organisation, spec)
            organisations[spec["name"]] = organisation
        return organisations

    def _correct_partner_flag(self, organisation, spec):
        """Set `is_partner` as this version has it where the previous version had it wrong,
        unless someone has since changed it to this version's value themselves."""
        wanted = spec.get("is_partner", False)
        previous = spec["name"] in PREVIOUS_PARTNERS
        if wanted != previous and organisation.is_partner != wanted:
            organisation_services.update_organisation(
                organisation, {"is_partner": wanted}, actor=self.admin
            )
            self.created += 1

    def _memberships(self):
        for member, association, since in MEMBERSHIPS:
            if not {member, association} & self.new_organisations:
                continue
            self._get_or_create(
                Membership,
                {
                    "member_id": self.organisations[member].id,
                    "association_id": self.organisations[association].id,
                },
                audited=False,
                since=since,
            )

    def _contacts(self):
        contacts = {}
        for spec in CONTACTS:
            contacts[spec["email"]], _created = self._get_or_create(
                Contact,
                {"email": spec["email"]},
                first_name=spec["first_name"],
                last_name=spec["last_name"],
                phone=spec.get("phone"),
                title=spec.get("title"),
                organisation_id=self.organisations[spec["organisation"]].id,
                legal_basis=spec.get("legal_basis", LegalBasis.LEGITIMATE_INTEREST),
                do_not_contact=spec.get("do_not_contact", False),
                notes=spec.get("notes"),
                owner_id=self._user_id(spec.get("owner")),
            )
        return contacts

    def _agreements(self):
        agreements = {}
        for spec in AGREEMENTS:
            agreement, created = self._get_or_create(
                Agreement,
                {"title": spec["title"]},
                kind=spec["kind"],
                status=spec["status"],
                our_signatory=spec.get("our_signatory"),
                signed_date=self._day(spec.get("signed")),
                start_date=self._day(spec.get("start")),
                end_date=self._day(spec.get("end")),
                renewal_notice_days=spec.get("renewal_notice_days", 90),
                owner_id=self._user_id(spec.get("owner")),
                description=spec.get("description"),
                is_public=spec.get("is_public", False),
                covers_members=spec.get("covers_members", False),
            )
            if created:
                for name, role in spec["parties"]:
                    agreement.parties.append(
                        self._add(
                            AgreementParty(organisation_id=self.organisations[name].id, role=role)
                        )
                    )
            else:
                self._add_our_side(agreement, spec)
            agreements[spec["title"]] = agreement
        return agreements

    def _add_our_side(self, agreement, spec):
        """Give an agreement the previous version loaded with only its counterparties (the
        framework agreement) the GMS partners this version lists, as an edit would."""
        ours = [
            (self.organisations[name], role)
            for name, role in spec["parties"]
            if self.organisations[name].is_partner and not self.organisations[name].is_deleted
        ]
        if not ours or any(party.organisation.is_partner for party in agreement.parties):
            return
        parties = [(party.organisation, party.role) for party in agreement.parties]
        try:
            agreement_services.update_agreement(
                agreement, {"parties": parties + ours}, actor=self.admin
            )
        except agreement_services.AgreementError:
            # Someone has edited the agreement into a state that no longer passes the
            # checks of an edit (e.g. its dates); their agreement is theirs to fix.
            return
        self.created += len(ours)

    def _enquiries(self):
        enquiries = {}
        numbers = {}
        for spec in ENQUIRIES:
            received_at = self.now - timedelta(hours=spec["hours_ago"])
            year = received_at.year
            numbers[year] = numbers.get(year, 0) + 1
            assignee = self.users.get(spec.get("assignee"))
            status = spec["status"]
            enquiry, created = self._get_or_create(
                Enquiry,
                {"reference": f"ENQ-{year}-{numbers[year]:05d}"},
                # Enquiries come from the public form, not from a signed-in user.
                actor=None,
                created_by_id=None,
                created_at=received_at,
                name=spec["name"],
                email=spec["email"],
                phone=spec.get("phone"),
                organisation_name=spec.get("organisation_name"),
                organisation_type=spec.get("organisation_type"),
                topic=spec["topic"],
                message=spec["message"],
                language=spec["language"],
                consent_text_id=self.consent_texts[spec["language"]].id,
                consent_given_at=received_at,
                received_at=received_at,
                status=status,
                closed_reason=spec.get("closed_reason"),
                assignee_id=assignee.id if assignee else None,
                assigned_at=self._after(received_at, spec.get("assigned_after")),
                first_response_at=self._after(received_at, spec.get("responded_after")),
                converted_at=self._after(received_at, spec.get("done_after"))
                if status == EnquiryStatus.CONVERTED
                else None,
                closed_at=self._after(received_at, spec.get("done_after"))
                if status == EnquiryStatus.CLOSED
                else None,
                organisation_id=self.organisations[spec["organisation"]].id
                if spec.get("organisation")
                else None,
                contact_id=self.contacts[spec["contact"]].id if spec.get("contact") else None,
            )
            for number, (author, hours, body) in enumerate(spec.get("replies", []), 1):
                self._reply(enquiry, spec, number, self.users[author], hours, body)
            if created:
                for author, hours, body in spec.get("comments", []):
                    at = self._after(received_at, hours)
                    author_id = self.users[author].id
                    enquiry.comments.append(
                        self._add(
                            EnquiryComment(
                                author_id=author_id,
                                body=body,
                                created_at=at,
                                updated_at=at,
                                created_by_id=author_id,
                            )
                        )
                    )
            enquiries[spec["key"]] = enquiry
        return enquiries

    def _reply(self, enquiry, spec, number, author, hours, body):
        """A reply sent from the enquiry, as send_reply stores it (already sent, so the demo
        queues nothing)."""
        message_id = f"<demo.{spec['key']}.{number}@crm.invalid>"
        if db.session.scalar(sa.select(Email.id).where(Email.message_id == message_id)):
            return
        at = self._after(enquiry.received_at, hours)
        with force_locale(spec["language"]):
            topic = str(spec["topic"].label)
        email = Email(
            message_id=message_id,
            direction=EmailDirection.OUTGOING,
            state=EmailState.FILED,
            subject=f"Re: {enquiry.reference} {topic}",
            from_address="crm@localhost",
            from_name=SETTINGS[f"office_name_{spec['language']}"],
            to_addresses=spec["email"],
            body_text=body,
            reply_text=body,
            sent_at=at,
            received_at=at,
            size_bytes=len(body.encode()),
            enquiry_id=enquiry.id,
            sent_by_id=author.id,
        )
        self._add(email)

    def _reply_templates(self):
        for language, name, body in REPLY_TEMPLATES:
            self._get_or_create(ReplyTemplate, {"language": language, "name": name}, body=body)

    def _after(self, moment, hours):
        """`hours` after `moment`, but never in the future."""
        if hours is None:
            return None
        return min(moment + timedelta(hours=hours), self.now)

    def _activities(self):
        activities = {}
        for spec in ACTIVITIES:
            enquiry = self.enquiries.get(spec.get("enquiry"))
            agreement = self.agreements.get(spec.get("agreement"))
            activity, created = self._get_or_create(
                Activity,
                {"title": spec["title"], "start_date": self._day(spec["start"])},
                kind=spec["kind"],
                start_time=spec.get("start_time"),
                end_date=self._day(spec.get("end")),
                end_time=spec.get("end_time"),
                place=spec.get("place"),
                is_online=spec.get("is_online", False),
                agreement_id=agreement.id if agreement else None,
                enquiry_id=enquiry.id if enquiry else None,
                description=spec.get("description"),
                outcome=spec.get("outcome"),
                status=spec["status"],
                is_public=spec.get("is_public", False),
                public_summary=spec.get("public_summary"),
            )
            if created:
                for name, role in spec.get("organisations", []):
                    activity.organisations.append(
                        self._add(
                            ActivityOrganisation(
                                organisation_id=self.organisations[name].id, role=role
                            )
                        )
                    )
                activity.contacts.extend(self.contacts[email] for email in spec["contacts"])
                activity.staff.extend(self.users[email] for email in spec["staff"])
            activities[spec["title"]] = activity
        return activities

    def _documents(self):
        owners = {"agreement": self.agreements, "activity": self.activities}
        for spec in DOCUMENTS:
            if db.session.scalar(sa.select(Document.id).where(Document.title == spec["title"])):
                continue
            kind, title = spec["owner"]
            upload = FileStorage(
                stream=io.BytesIO(simple_pdf(spec["lines"])),
                filename=spec["filename"],
                content_type="application/pdf",
            )
            store_document(
                upload,
                title=spec["title"],
                description=spec.get("description"),
                is_public=spec["is_public"],
                owner=owners[kind][title],
                actor=self.admin,
            )
            self.created += 1

    def _tasks(self):
        subjects = {
            "organisation": self.organisations,
            "agreement": self.agreements,
            "activity": self.activities,
            "enquiry": self.enquiries,
        }
        for spec in TASKS:
            links = {
                f"{kind}_id": records[spec[kind]].id
                for kind, records in subjects.items()
                if kind in spec
            }
            self._get_or_create(
                Task,
                {"title": spec["title"]},
                assignee_id=self._user_id(spec["assignee"]),
                due_date=self._day(spec["due"]),
                **links,
            )

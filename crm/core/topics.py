"""The topics an enquiry is about, which are also the users' topics of expertise.

Kept in core because both users (auth) and enquiries use them, and auth must not import the
enquiries package (its blueprint pulls in views that need auth).
"""

from flask_babel import lazy_gettext as _l

from crm.core.types import LabelledEnum


class Topic(LabelledEnum):
    RD_COLLABORATION = "rd_collaboration"
    CLINICAL_STUDIES = "clinical_studies"
    DATA_INFRASTRUCTURE = "data_infrastructure"
    DIAGNOSTICS = "diagnostics"
    EDUCATION = "education"
    INNOVATION_BUSINESS = "innovation_business"
    OTHER = "other"

    @staticmethod
    def _labels():
        return {
            "rd_collaboration": _l("R&D collaboration"),
            "clinical_studies": _l("Clinical studies"),
            "data_infrastructure": _l("Data and infrastructure"),
            "diagnostics": _l("Diagnostics"),
            "education": _l("Education and competence"),
            "innovation_business": _l("Innovation and business"),
            "other": _l("Other"),
        }

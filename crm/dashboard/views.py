"""The overview: the signed-in person's work, what needs a coordinator, agreements coming up,
recent activities and the figures of the last four quarters."""

from flask import render_template
from flask_login import current_user

from crm.activities.task_services import (
    is_overdue,
    subject_name,
    subject_of,
    subject_url,
)
from crm.core.dates import local_today
from crm.core.types import utcnow
from crm.dashboard import bp, services
from crm.reports import figures, snapshots
from crm.reports.display import age_text, duration_text, figure_charts, quarter_label

QUARTERS_SHOWN = 4


@bp.route("/")
def index():
    today = local_today()
    now = utcnow()
    quarters = figures.last_quarters(QUARTERS_SHOWN, today)
    rows, figures_computed_at = snapshots.quarter_figures(quarters[0], quarters[-1])
    tasks = services.my_open_tasks(current_user)
    unassigned = services.unassigned_enquiries(current_user)
    return render_template(
        "dashboard/index.html",
        my_enquiries=services.my_open_enquiries(current_user),
        unassigned=unassigned,
        unassigned_ages={
            enquiry.id: age_text(now - enquiry.received_at) for enquiry in unassigned.items
        }
        if unassigned
        else {},
        tasks=[
            (
                task,
                is_overdue(task, today),
                subject_name(*subject_of(task)),
                subject_url(*subject_of(task)),
            )
            for task in tasks.items
        ],
        tasks_total=tasks.total,
        agreement_events=services.agreement_events(today),
        activities=services.recent_activities(today),
        rows=rows,
        figures_computed_at=figures_computed_at,
        charts=figure_charts(rows),
        duration_text=duration_text,
        quarter_label=quarter_label,
        today=today,
    )

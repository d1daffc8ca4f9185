"""The realistic mix: many users signed in at once, each request a different page.

bench/run.py --mix runs it. Unlike the single-URL rows (one URL, one user, thousands of
times, so that after the first request the page cache answers), here

- USERS staff users are signed in (the demo data's coordinator, members and viewer, and
  bench users of the same roles made for the purpose), each with their own session cookie
  and CSRF token, and anonymous visitors, each with their own session for the public form;
- every page kind of KINDS has a pool of URLS_PER_KIND URLs drawn from the loaded data:
  random records, filters, sort orders, search terms and page numbers (deep ones too);
- each request (bench/mix.lua) picks a kind by its weight, a user whose role may see it,
  and one of the kind's URLs; about 7 % are writes (an activity quick-logged, an enquiry
  assigned, the public form posted), and every write empties every page cache, as in use.

What is measured, per kind: the latency the client saw (p50, p99; the app echoes a clock
the client sent, bench/bench_wsgi.py), the statuses, and the CPU time the worker spent on
it (measured around the request in the worker, time.thread_time; gunicorn's own part,
the workers' total CPU time less the sum of the requests', is spread evenly over all
requests). The ratio to the hello app is a throughput equivalent: the hello app's worker
CPU time per request over the kind's, i.e. the share of the hello app's throughput the
workers would reach serving only that kind when CPU is what limits them. On PostgreSQL the
database's own CPU time (its backends serving crm_bench) is reported beside it, for the
whole mix.
"""

import os
import shutil
import sys
import tempfile
import time
import urllib.parse
from datetime import date, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCRIPT = BENCH / "mix.lua"
URLS_PER_KIND = 400
USERS = {"coordinator": 6, "member": 24, "viewer": 10}  # 40, the demo users included
BENCH_PASSWORD = "Bench-mix-password-2026"  # noqa: S105
VISITORS = 8
# Seconds of the mix, every kind alike, before the measured run: enough for each of the
# workers to render each kind at least once at the few dozen requests a second it serves.
WARM_UP = 10
WRK_TIMEOUT = 30  # seconds
SEED = 20261206

# name, weight (share of requests, %), method, the least role that may ask ("anonymous":
# no one signed in). Reads 93 %, writes 7 %.
KINDS = [
    ("organisations list", 15, "GET", "viewer"),
    ("organisation detail", 12, "GET", "viewer"),
    ("contacts list", 6, "GET", "viewer"),
    ("contact detail", 7, "GET", "viewer"),
    ("activities list", 6, "GET", "viewer"),
    ("activity detail", 6, "GET", "viewer"),
    ("enquiries list", 5, "GET", "member"),
    ("enquiry detail", 5, "GET", "coordinator"),  # members read only their own (SPEC §4)
    ("agreements list", 3, "GET", "viewer"),
    ("agreement detail", 3, "GET", "viewer"),
    ("tasks", 5, "GET", "viewer"),
    ("dashboard", 6, "GET", "viewer"),
    ("search", 8, "GET", "viewer"),
    ("reports", 2, "GET", "viewer"),
    ("public page", 3, "GET", "anonymous"),
    ("public form page", 1, "GET", "anonymous"),
    ("write: activity quick-logged", 3, "POST", "member"),
    ("write: enquiry assigned", 2, "POST", "coordinator"),
    ("write: public form POST", 2, "POST", "visitor"),
]
RANKS = {"viewer": 0, "member": 1, "coordinator": 2, "admin": 3}
# What a page kind must answer to count as served: a page (200) or, for a write, the
# redirect that follows a saved form. Anything else (a form shown again with an error, a
# redirect to the sign-in page, 4xx, 5xx) is counted as unexpected.
EXPECTED = {"GET": {200}, "POST": {302, 303}}
# The issue's targets for the mix (issue 20): staff pages at least this share of the hello
# app and p99 under 100 ms; the form POST p99 under 250 ms; nothing unexpected.
STAFF_RATIO_TARGET = 0.06
STAFF_P99_TARGET_MS = 100
FORM_P99_TARGET_MS = 250


def log(message):
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- users and sessions


def ensure_users():
    """The bench users (bench-<role>-NN@example.org), made once; returns every active
    non-admin user's (id, email, role, password), the demo users first."""
    import sqlalchemy as sa

    from bench.bench_wsgi import app
    from crm.auth.models import User
    from crm.auth.services import create_user
    from crm.demo_data import DEMO_PASSWORD
    from crm.extensions import db

    with app.app_context():
        demo = db.session.execute(
            sa.select(User.id, User.email, User.role)
            .where(User.active, User.email.not_like("bench-%"))
            .order_by(User.id)
        ).all()
        demo = [(uid, email, role.value) for uid, email, role in demo if role.value != "admin"]
        users = [(uid, email, role, DEMO_PASSWORD) for uid, email, role in demo]
        for role, wanted in USERS.items():
            have = sum(1 for _uid, _email, user_role, _pw in users if user_role == role)
            for number in range(1, wanted - have + 1):
                email = f"bench-{role}-{number:02d}@example.org"
                user = db.session.scalar(sa.select(User).where(User.email == email))
                if user is None:
                    user = create_user(
                        email=email,
                        name=f"Bench {role.title()} {number:02d}",
                        role=role,
                        password=BENCH_PASSWORD,
                        language="en",
                    )
                    db.session.flush()
                users.append((user.id, email, role, BENCH_PASSWORD))
        db.session.commit()
    return users


def sign_in_all(base_url, users):
    """Sign each user in through the sign-in form; their cookie and CSRF token."""
    from bench.run import _cookie_header, _cookies, fetch, inputs

    signed_in = []
    for uid, email, role, password in users:
        response, body = fetch(base_url + "/login")
        jar = _cookies(response)
        fields = inputs(body)
        fields.update(email=email, password=password)
        response, _body = fetch(
            base_url + "/login", cookies=jar, data=urllib.parse.urlencode(fields).encode()
        )
        jar.update(_cookies(response))
        if response.status not in (302, 303):
            raise RuntimeError(f"signing in as {email} failed with {response.status}")
        # The first page shows the welcome message; read it, and keep the cookie that no
        # longer carries it (and carries the CSRF secret the page's forms are signed with).
        csrf = None
        for _attempt in range(3):
            response, body = fetch(base_url + "/tasks/", cookies=jar)
            changed = _cookies(response)
            csrf = inputs(body).get("csrf_token") or csrf
            if not changed or all(jar.get(k) == v for k, v in changed.items()):
                break
            jar.update(changed)
        if response.status != 200 or not csrf:
            raise RuntimeError(f"{email}: no page or no CSRF token after signing in")
        signed_in.append(
            {"id": uid, "email": email, "role": role, "cookie": _cookie_header(jar), "csrf": csrf}
        )
    return signed_in


def visitor_sessions(base_url, count):
    """Anonymous visitors of the public form: each a session cookie and the form's fields."""
    from bench.run import _cookie_header, _cookies, fetch, inputs

    visitors = []
    for _number in range(count):
        response, body = fetch(base_url + "/contact?lang=en")
        visitors.append((_cookie_header(_cookies(response)), inputs(body)))
    return visitors


def form_bodies(visitors, count, rng):
    """`count` submissions of the public form, each with its own form token, spread over
    the visitors: [(visitor number, body)]."""
    from bench.bench_wsgi import app
    from crm.public.contact_forms import issue_form_token

    bodies = []
    with app.app_context():
        for number in range(count):
            visitor = rng.randrange(len(visitors))
            values = dict(visitors[visitor][1])
            values.update(
                name=f"Mix Sender {number}",
                email=f"mix{number}-{rng.randrange(10**9)}@example.org",
                phone="",
                organisation_name=f"Mix Company {rng.randrange(10**6)} AB",
                organisation_type="company",
                topic=rng.choice(["rd_collaboration", "clinical_studies", "other"]),
                message="We would like to discuss a joint research project on genomics.",
                acknowledgement="y",
                website="",
                form_token=issue_form_token("en"),
            )
            bodies.append((visitor + 1, urllib.parse.urlencode(values)))
    return bodies


# ---------------------------------------------------------------- the URL pools


def _sample(select, count):
    """Up to `count` rows of `select`, chosen at random by the database."""
    import sqlalchemy as sa

    from crm.extensions import db

    return db.session.execute(select.order_by(sa.func.random()).limit(count)).all()


def _pages(total, per_page, rng, filtered):
    """A page number as people ask for them: mostly the first, now and then a deep one.

    `total` is the unfiltered list's length. A filtered list is shorter by an amount not
    known here, so of it only the first ten pages are asked for: a page past a list's end is
    one nobody is shown a link to (and the list walks every row it has to find it empty)."""
    last = max(1, (total + per_page - 1) // per_page)
    if filtered:
        last = min(last, 10)
    roll = rng.random()
    if roll < (0.7 if filtered else 0.55) or last == 1:
        return 1
    if roll < 0.9:
        return rng.randint(2, min(last, 10))
    return rng.randint(1, last)


def _url(path, params):
    params = {key: value for key, value in params.items() if value not in (None, "", 1)}
    if params.get("page") == 1:
        params.pop("page")
    return path + ("?" + urllib.parse.urlencode(params) if params else "")


def build_pools(users, rng, count=URLS_PER_KIND):
    """{kind: {"urls": [...], "bodies": [...]}} drawn from the database the app serves."""
    import sqlalchemy as sa

    from bench.bench_wsgi import app
    from crm.activities.models import Activity, ActivityKind, ActivityStatus
    from crm.agreements.models import Agreement, AgreementKind, AgreementStatus
    from crm.core.topics import Topic
    from crm.enquiries.models import Enquiry, EnquiryStatus
    from crm.extensions import db
    from crm.organisations.models import (
        Contact,
        LegalBasis,
        Organisation,
        OrganisationKind,
        Sector,
        Tag,
    )

    staff_ids = [user["id"] for user in users]
    assignable = [user["id"] for user in users if user["role"] != "viewer"]
    pools = {}
    with app.app_context():
        live = Organisation.deleted_at.is_(None)
        org_total = db.session.scalar(sa.select(sa.func.count()).where(live))
        contact_total = db.session.scalar(
            sa.select(sa.func.count()).where(Contact.deleted_at.is_(None))
        )
        activity_total = db.session.scalar(
            sa.select(sa.func.count()).where(Activity.deleted_at.is_(None))
        )
        orgs = _sample(sa.select(Organisation.id, Organisation.name).where(live), count * 2)
        contacts = _sample(
            sa.select(Contact.id, Contact.first_name, Contact.last_name, Contact.email).where(
                Contact.deleted_at.is_(None)
            ),
            count,
        )
        activities = _sample(sa.select(Activity.id).where(Activity.deleted_at.is_(None)), count)
        enquiries = _sample(sa.select(Enquiry.id).where(Enquiry.deleted_at.is_(None)), count)
        open_enquiries = _sample(
            sa.select(Enquiry.id).where(
                Enquiry.deleted_at.is_(None),
                Enquiry.status.in_(
                    [EnquiryStatus.NEW, EnquiryStatus.ASSIGNED, EnquiryStatus.IN_PROGRESS]
                ),
            ),
            count,
        )
        agreements = db.session.execute(
            sa.select(Agreement.id).where(Agreement.deleted_at.is_(None))
        ).all()
        tags = db.session.scalars(sa.select(Tag.name)).all()
        associations = db.session.scalars(
            sa.select(Organisation.id).where(
                live, Organisation.kind == OrganisationKind.INDUSTRY_ASSOCIATION
            )
        ).all()
    org_ids = [row.id for row in orgs]
    # Words people type: parts of real names, whole names, e-mail addresses.
    name_words = sorted({word for row in orgs for word in row.name.split() if len(word) > 2})
    search_terms = (
        name_words
        + [" ".join(row.name.split()[:2]) for row in orgs[:100]]
        + [row.name for row in orgs[:50]]
        + [f"{row.first_name} {row.last_name}" for row in contacts[:100]]
        + [row.last_name for row in contacts[:50]]
        + [row.email for row in contacts[:30]]
    )

    def maybe(probability, values):
        return rng.choice(values) if values and rng.random() < probability else None

    def pool(make):
        return sorted({make() for _ in range(count)})

    def organisations_list():
        params = {
            "kind": maybe(0.15, [kind.value for kind in OrganisationKind]),
            "sector": maybe(0.2, [sector.value for sector in Sector]),
            "tag": maybe(0.08, tags),
            "partner": maybe(0.08, ["yes", "no"]),
            "owner": maybe(0.12, staff_ids),
            "q": maybe(0.15, name_words),
            "sort": maybe(0.4, ["-name", "kind", "city", "updated", "-updated", "created"]),
            "per_page": maybe(0.1, [50, 100]),
        }
        filtered = any(params[key] for key in ("kind", "sector", "tag", "partner", "owner", "q"))
        params["page"] = _pages(org_total, params["per_page"] or 25, rng, filtered)
        return _url("/organisations/", params)

    def contacts_list():
        params = {
            "q": maybe(
                0.2, [row.last_name for row in contacts] + [row.first_name for row in contacts]
            ),
            "organisation_id": maybe(0.1, org_ids),
            "legal_basis": maybe(0.1, [basis.value for basis in LegalBasis]),
            "do_not_contact": maybe(0.05, ["yes", "no"]),
            "owner_id": maybe(0.1, staff_ids),
            "sort": maybe(0.4, ["-name", "email", "updated", "-created"]),
        }
        filtered = any(value for key, value in params.items() if key != "sort")
        params["page"] = _pages(contact_total, 25, rng, filtered)
        return _url("/contacts/", params)

    def activities_list():
        start = date.today() - timedelta(days=rng.randint(0, 1500))
        dated = rng.random() < 0.1
        params = {
            "kind": maybe(0.15, [kind.value for kind in ActivityKind]),
            "status": maybe(0.1, [status.value for status in ActivityStatus]),
            "organisation_id": maybe(0.08, org_ids),
            "sector": maybe(0.1, [sector.value for sector in Sector]),
            "staff": maybe(0.1, staff_ids),
            "from": start.isoformat() if dated else None,
            "to": (start + timedelta(days=90)).isoformat() if dated else None,
            "sort": maybe(0.3, ["date", "title", "kind"]),
        }
        filtered = any(value for key, value in params.items() if key != "sort")
        params["page"] = _pages(activity_total, 25, rng, filtered)
        return _url("/activities/", params)

    def enquiries_list():
        params = {
            "status": maybe(
                0.3, ["all", "new", "assigned", "in_progress", "waiting", "closed", "converted"]
            ),
            "topic": maybe(0.15, [topic.value for topic in Topic]),
            "assignee": maybe(0.2, ["none", *assignable]),
            "age": maybe(0.05, [7, 14, 30]),
            "q": maybe(
                0.1, ["Sender", "Company", "genomic"] + [row.last_name for row in contacts[:20]]
            ),
            "page": 1 if rng.random() < 0.7 else rng.randint(2, 20),
        }
        return _url("/enquiries/", params)

    def agreements_list():
        params = {
            "kind": maybe(0.15, [kind.value for kind in AgreementKind]),
            "status": maybe(0.15, [status.value for status in AgreementStatus]),
            "owner": maybe(0.1, staff_ids),
            "ending": maybe(0.1, [30, 90, 180]),
            "q": maybe(0.1, ["agreement", "data", "Nordic"]),
            "sort": maybe(0.4, ["title", "kind", "status", "end", "start"]),
        }
        return _url("/agreements/", params)

    def tasks():
        return _url(
            "/tasks/",
            {
                "state": maybe(0.2, ["done"]),
                "assignee": maybe(0.3, ["all", *assignable]),
                "page": 1 if rng.random() < 0.85 else rng.randint(2, 5),
            },
        )

    def reports():
        if rng.random() < 0.3 and org_ids:
            return f"/reports/organisations/{rng.choice(org_ids)}"
        return _url(
            "/reports/",
            {
                "year": maybe(0.4, list(range(date.today().year - 4, date.today().year + 1))),
                "kind": maybe(0.15, [kind.value for kind in ActivityKind]),
                "sector": maybe(0.15, [sector.value for sector in Sector]),
                "association": maybe(0.1, associations),
            },
        )

    pools["organisations list"] = pool(organisations_list)
    pools["organisation detail"] = sorted({f"/organisations/{oid}" for oid in org_ids[:count]})
    pools["contacts list"] = pool(contacts_list)
    pools["contact detail"] = [f"/contacts/{row.id}" for row in contacts]
    pools["activities list"] = pool(activities_list)
    pools["activity detail"] = [f"/activities/{row.id}" for row in activities]
    pools["enquiries list"] = pool(enquiries_list)
    pools["enquiry detail"] = [f"/enquiries/{row.id}" for row in enquiries]
    pools["agreements list"] = pool(agreements_list)
    pools["agreement detail"] = [f"/agreements/{row.id}" for row in agreements]
    pools["tasks"] = pool(tasks)
    pools["dashboard"] = ["/dashboard/"]
    pools["search"] = sorted(
        {_url("/search/", {"q": rng.choice(search_terms)}) for _ in range(count)}
    )
    pools["reports"] = pool(reports)
    pools["public page"] = ["/"]
    pools["public form page"] = ["/contact"]
    pools = {kind: {"urls": urls} for kind, urls in pools.items()}

    today = date.today()
    quick_bodies = []
    for number in range(count):
        row = rng.choice(orgs)
        quick_bodies.append(
            urllib.parse.urlencode(
                {
                    "kind": rng.choice(["dialogue_meeting", "information_meeting", "seminar"]),
                    "title": f"Mix call {number}",
                    "start_date": (today - timedelta(days=rng.randint(0, 30))).isoformat(),
                    "organisations-0-name": f"{row.name} (#{row.id})",
                    "organisations-0-kind": "company",
                    "contacts-0-name": "",
                    "contacts-0-email": "",
                    "outcome": "Talked about a joint project; they will send a proposal.",
                    "task_title": "",
                    "task_due_date": "",
                }
            )
            + "&csrf_token={csrf}"
        )
    pools["write: activity quick-logged"] = {"urls": ["/activities/quick"], "bodies": quick_bodies}
    pools["write: enquiry assigned"] = {
        "urls": [f"/enquiries/{row.id}/assign" for row in open_enquiries],
        "bodies": [
            f"assign-assignee_id={assignee}&assign-csrf_token={{csrf}}" for assignee in assignable
        ],
    }
    pools["write: public form POST"] = {"urls": ["/contact"]}
    return pools


# ---------------------------------------------------------------- the wrk data file


def _lua(value):
    """A Python value (str, int, float, list, dict with str keys) as a Lua literal."""
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "{" + ",".join(_lua(item) for item in value) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"[{_lua(k)}]={_lua(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def write_lua_data(path, users, pools, visitors, forms, *, equal_weights=False):
    kinds = []
    for name, weight, method, least in KINDS:
        weight = 1 if equal_weights else weight
        if least in ("anonymous", "visitor"):
            allowed = []
        else:
            allowed = [
                number
                for number, user in enumerate(users, start=1)
                if RANKS[user["role"]] >= RANKS[least]
            ]
        kind = {"name": name, "weight": weight, "method": method, "users": allowed}
        kind["urls"] = pools[name]["urls"]
        if "bodies" in pools[name]:
            kind["bodies"] = pools[name]["bodies"]
        if least == "visitor":
            kind["forms"] = [list(form) for form in forms]
        if not kind["urls"]:
            log(f"   (no URLs for {name}: left out)")
            continue
        kinds.append(kind)
    lua_users = [
        {
            "id": str(user["id"]),
            "cookie": user["cookie"],
            # The token goes into a gsub replacement, where % is special.
            "csrf_pattern": urllib.parse.quote(user["csrf"], safe="").replace("%", "%%"),
        }
        for user in users
    ]
    data = {"users": lua_users, "kinds": kinds, "visitors": [cookie for cookie, _ in visitors]}
    Path(path).write_text("return " + _lua(data) + "\n")


# ---------------------------------------------------------------- running and reading it


def probe(base_url, users, pools, visitors, forms):
    """One request of each kind before the load, so that a harness mistake (a form field
    missing, a session not signed in) shows as a status here, not as a silent 200."""
    from bench.run import fetch

    statuses = {}
    by_role = {user["role"]: user for user in users}
    for name, _weight, method, least in KINDS:
        urls = pools[name]["urls"]
        if not urls:
            continue
        url = base_url + urls[0]
        cookie = None
        data = None
        if least == "visitor":
            cookie, data = visitors[forms[-1][0] - 1][0], forms[-1][1].encode()
        elif least != "anonymous":
            user = by_role["coordinator"] if least == "coordinator" else by_role["member"]
            cookie = user["cookie"]
            if method == "POST":
                body = pools[name]["bodies"][0]
                data = body.replace("{csrf}", urllib.parse.quote(user["csrf"], safe="")).encode()
        request_cookies = None
        if cookie:
            request_cookies = dict(part.split("=", 1) for part in cookie.split("; "))
        response, _body = fetch(url, cookies=request_cookies, data=data)
        statuses[name] = response.status
        if response.status not in EXPECTED[method]:
            log(f"   probe: {name} {urls[0]} answered {response.status}")
    return statuses


def _run_lua(url, data_path, out_path, run, *, duration, connections, threads):
    from bench.run import run_wrk

    return run_wrk(
        url,
        duration=duration,
        connections=connections,
        threads=threads,
        script=SCRIPT,
        # wrk drops an answer slower than its timeout (2 s unless told) from every figure;
        # the slowest pages are what p99 is about.
        timeout=WRK_TIMEOUT,
        env={
            "BENCH_MIX": str(data_path),
            "BENCH_MIX_OUT": str(out_path),
            "BENCH_THREADS": str(threads),
            "BENCH_RUN": run,
        },
    )


def _percentile(values, share):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def postgres_backend_cpu_seconds(database="crm_bench"):
    """CPU time used so far by the PostgreSQL backends serving `database` (the server runs
    on this machine); {pid: seconds}."""
    import sqlalchemy as sa

    from bench.run import POSTGRES_ADMIN_URL

    engine = sa.create_engine(POSTGRES_ADMIN_URL)
    with engine.connect() as connection:
        pids = connection.execute(
            sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": database}
        ).scalars()
        pids = list(pids)
    engine.dispose()
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def run_mix(crm, hello, kind_of_db, request_log, wrk_options, warm_up, rng):
    """Set up users, pools and data files, measure the hello app, then the mix; the report."""
    log("== The realistic mix: users")
    users = sign_in_all(crm.url, ensure_users())
    log(
        f"   {len(users)} users signed in: "
        + ", ".join(
            f"{sum(1 for user in users if user['role'] == role)} {role}s"
            for role in RANKS
            if any(user["role"] == role for user in users)
        )
    )
    log("== URL pools from the loaded data")
    pools = build_pools(users, rng)
    visitors = visitor_sessions(crm.url, VISITORS)
    duration = wrk_options["duration"]
    warm_forms = form_bodies(visitors, max(100, warm_up * 60), rng)
    forms = form_bodies(visitors, max(300, duration * 60), rng)
    folder = Path(tempfile.mkdtemp(prefix="crm-bench-mix-"))
    warm_data, data, out = folder / "warm.lua", folder / "mix.lua", folder / "seen.tsv"
    # The warm-up asks for every kind alike, so that every worker has rendered every page
    # kind (compiled its templates, filled its caches) before anything is counted.
    write_lua_data(warm_data, users, pools, visitors, warm_forms, equal_weights=True)
    write_lua_data(data, users, pools, visitors, forms)
    log("   " + ", ".join(f"{name}: {len(pool['urls'])}" for name, pool in pools.items()))

    from bench.run import measure

    probe_form = form_bodies(visitors, 1, rng)
    # The form refuses what is sent sooner than CONTACT_MIN_FILL_SECONDS after it was shown.
    time.sleep(3)
    probes = probe(crm.url, users, pools, visitors, probe_form)
    log(f"== warm-up, {warm_up} s (not counted)")
    _run_lua(
        crm.url,
        warm_data,
        folder / "warm-seen.tsv",
        "warm-up",
        **{**wrk_options, "duration": warm_up},
    )
    # The requests wrk left unanswered are still being served: let the workers finish them.
    drain(crm)
    # The hello app right before the mix: the machine's speed drifts, and the two figures are
    # only comparable when measured under the same conditions.
    log("== hello app")
    hello_result = measure(hello, hello.url + "/", **wrk_options)

    log(f"== the mix, {duration} s")
    postgres_before = postgres_backend_cpu_seconds() if kind_of_db == "postgresql" else None
    cpu_before = crm.worker_cpu_seconds()
    overall = _run_lua(crm.url, data, out, "mix", **wrk_options)
    # What the workers still serve of it counts too (their records are written when done).
    drain(crm)
    cpu_spent = crm.worker_cpu_seconds() - cpu_before
    postgres_spent = None
    if postgres_before is not None:
        after = postgres_backend_cpu_seconds()
        postgres_spent = sum(value - postgres_before.get(pid, 0.0) for pid, value in after.items())

    report = summarise(out, request_log, "mix", cpu_spent, overall, hello_result, postgres_spent)
    report["probes"] = probes
    report["users"] = {role: sum(1 for u in users if u["role"] == role) for role in RANKS}
    report["visitors"] = len(visitors)
    report["pool_sizes"] = {name: len(pool["urls"]) for name, pool in pools.items()}
    shutil.rmtree(folder, ignore_errors=True)
    return report


def drain(server, most=120):
    """Wait until the server's workers are idle (less than 5 % of a CPU for a second), at
    most `most` seconds: when wrk stops, the requests it sent last are still being served."""
    deadline = time.monotonic() + most
    before = server.worker_cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(1)
        now = server.worker_cpu_seconds()
        if now - before < 0.05:
            return
        before = now
    log(f"   (the workers were still busy after {most} s)")


def _server_records(folder, run):
    records = []
    for path in Path(folder).glob("requests-*.tsv"):
        for line in path.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) == 8 and parts[7] == run:
                records.append(
                    (parts[1], parts[2], parts[3], float(parts[4]), float(parts[5]), parts[6])
                )
    return records


def summarise(seen_path, request_log, run, cpu_spent, overall, hello, postgres_spent):
    seen = {}
    for line in Path(seen_path).read_text().splitlines():
        kind, status, micros = line.split("\t")
        seen.setdefault(kind, []).append((int(status), int(micros) / 1000))
    records = _server_records(request_log, run)
    served = {}
    for kind, _method, _status, wall, cpu, hit in records:
        served.setdefault(kind, []).append((wall, cpu, hit == "1"))
    total = sum(len(values) for values in seen.values())
    app_cpu_ms = sum(record[4] for record in records)
    # What the workers spent outside the requests (gunicorn reading them, its loop), spread
    # evenly over every request they served.
    outside_ms = max(0.0, (cpu_spent * 1000 - app_cpu_ms) / len(records)) if records else 0.0
    hello_cpu = hello["worker_cpu_ms"]
    kinds = {}
    methods = {name: method for name, _weight, method, _least in KINDS}
    for name, _weight, method, _least in KINDS:
        answers = seen.get(name, [])
        latencies = [ms for _status, ms in answers]
        statuses = {}
        for status, _ms in answers:
            statuses[str(status)] = statuses.get(str(status), 0) + 1
        unexpected = sum(
            count for status, count in statuses.items() if int(status) not in EXPECTED[method]
        )
        cpu_values = [cpu for _wall, cpu, _hit in served.get(name, [])]
        wall_values = [wall for wall, _cpu, _hit in served.get(name, [])]
        hits = sum(1 for *_rest, hit in served.get(name, []) if hit)
        cpu = (sum(cpu_values) / len(cpu_values) + outside_ms) if cpu_values else None
        kinds[name] = {
            "method": methods[name],
            "requests": len(answers),
            "share": round(len(answers) / total, 4) if total else 0,
            "statuses": statuses,
            "unexpected": unexpected,
            "latency_ms": {
                "p50": _round(_percentile(latencies, 0.5)),
                "p99": _round(_percentile(latencies, 0.99)),
            },
            "served_ms_p50": _round(_percentile(wall_values, 0.5)),
            "served": len(cpu_values),
            "page_cache_hits": hits,
            "app_cpu_ms_p50": _round(_percentile(cpu_values, 0.5)),
            "app_cpu_ms_p99": _round(_percentile(cpu_values, 0.99)),
            "worker_cpu_ms": _round(cpu),
            "ratio_to_hello": round(hello_cpu / cpu, 3) if cpu and hello_cpu else None,
        }
        kinds[name]["meets_target"] = _verdict(name, kinds[name])
    return {
        "overall": {
            **overall,
            "requests_seen": total,
            "worker_cpu_ms": round(cpu_spent * 1000 / len(records), 2) if records else None,
            "worker_cpu_outside_requests_ms": round(outside_ms, 3),
            "postgres_cpu_ms": (
                round(postgres_spent * 1000 / len(records), 2)
                if postgres_spent is not None and records
                else None
            ),
            "ratio_to_hello": round(
                overall["requests_per_second"] / hello["requests_per_second"], 3
            ),
        },
        "hello": hello,
        "kinds": kinds,
    }


def _round(value):
    return None if value is None else round(value, 2)


def _verdict(name, result):
    if not result["requests"]:
        return None
    p99 = result["latency_ms"]["p99"] or 0
    if name == "write: public form POST":
        return p99 < FORM_P99_TARGET_MS and result["unexpected"] == 0
    if name.startswith("write:") or name.startswith("public"):
        return None
    ratio = result["ratio_to_hello"] or 0
    return ratio >= STAFF_RATIO_TARGET and p99 < STAFF_P99_TARGET_MS and not result["unexpected"]


def table(report):
    mix = report["mix"]
    overall, hello = mix["overall"], mix["hello"]
    postgres = (
        f"; PostgreSQL backends {overall['postgres_cpu_ms']} ms CPU per request"
        if overall.get("postgres_cpu_ms") is not None
        else ""
    )
    lines = [
        f"Realistic mix. Database: {report['database']}; {report['gunicorn_workers']} gunicorn "
        f"workers; page cache {'on' if report['page_cache'] else 'off'}; wrk "
        f"{report['wrk']['connections']} connections, {report['wrk']['seconds']} s; "
        f"{sum(mix['users'].values())} users signed in "
        f"({', '.join(f'{n} {r}' for r, n in mix['users'].items() if n)}), "
        f"{mix['visitors']} visitors",
        f"Overall: {overall['requests_per_second']:.0f} requests/s (hello "
        f"{hello['requests_per_second']:.0f}, ratio {overall['ratio_to_hello']:.3f}); "
        f"p50 {overall['latency_ms'].get('p50')} ms, p99 {overall['latency_ms'].get('p99')} ms; "
        f"{overall['requests']} requests, non-2xx/3xx {overall['non_2xx_3xx']}"
        f"{'; ' + overall['socket_errors'] if overall.get('socket_errors') else ''}; worker CPU "
        f"{overall['worker_cpu_ms']} ms per request (hello {hello['worker_cpu_ms']}), of which "
        f"{overall['worker_cpu_outside_requests_ms']} ms outside the app{postgres}",
        "",
        "| page kind | share | requests | cache hits | p50 ms | p99 ms | CPU ms/request "
        "| ratio vs hello | unexpected | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = {True: "met", False: "MISSED", None: "–"}
    for name, result in mix["kinds"].items():
        latency = result["latency_ms"]
        ratio = result["ratio_to_hello"]
        lines.append(
            f"| {name} | {result['share'] * 100:.1f} % | {result['requests']} | "
            f"{result['page_cache_hits']} | "
            f"{_show(latency['p50'])} | {_show(latency['p99'])} | "
            f"{_show(result['worker_cpu_ms'])} | {'–' if ratio is None else f'{ratio:.3f}'} | "
            f"{result['unexpected']} | {verdicts[result['meets_target']]} |"
        )
    lines += [
        "",
        "Cache hits: requests the page cache answered. "
        "p50/p99: as the client saw them (queueing included). CPU ms/request: the worker's CPU "
        "time in the request, plus an equal share of gunicorn's own; the database's for "
        "SQLite, not PostgreSQL's backends (overall figure above). Ratio vs hello: hello's "
        "CPU ms/request over the kind's: the share of the hello app's throughput the "
        "workers would reach serving only that kind. Unexpected: a GET not answered 200, a "
        "write not answered with the redirect of a saved form. Target (issue 20): staff "
        f"kinds ratio >= {STAFF_RATIO_TARGET} and p99 < {STAFF_P99_TARGET_MS} ms; form POST "
        f"p99 < {FORM_P99_TARGET_MS} ms; none unexpected.",
    ]
    return "\n".join(lines)


def _show(value):
    return "–" if value is None else f"{value:g}"

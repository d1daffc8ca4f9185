"""The benchmark: the CRM at SPEC §6 scale, served by gunicorn, measured with wrk.

    .venv/bin/python bench/run.py --db sqlite      # or --db postgresql
    .venv/bin/python bench/run.py --db postgresql --reuse --duration 20
    .venv/bin/python bench/run.py --db sqlite --reuse --mix [--no-page-cache]

With --mix it runs the realistic mix instead (bench/mix.py: many users, varied URLs drawn
from the data, writes interleaved; per page kind), with its own table and
bench/results/mix-<db>-<cache>-<time>.json. Without it, the single-URL rows below, which
with the page cache on measure the cache; they are kept for diagnosis.

It builds a database (SQLite under bench/.data/, or the PostgreSQL database `crm_bench`
on 127.0.0.1), migrates it, loads the demo data and the synthetic data set
(bench/load_data.py), starts the app with gunicorn as production would (bench/bench_wsgi.py)
and a bare Flask "hello" the same way (bench/hello.py), signs in, and measures each page
with wrk at 16 connections, each right after the hello app: throughput, latency
percentiles, the ratio of the throughput to the hello app's, and the CPU time the workers
spent per request. It also counts the SQL queries each page makes. Besides the form as a
person sends it, it posts the form as a bot does (honeypot filled in, nothing stored): the
cost of the request alone. Results go to bench/results/<db>-<cache>-<time>.json and a table
on standard output.
"""

import argparse
import html.parser
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH = ROOT / "bench"
DATA = BENCH / ".data"
RESULTS = BENCH / "results"
PYTHON = sys.executable
VENV_BIN = Path(sys.executable).parent
PUBLIC_URL = "http://127.0.0.1"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/crm_bench"
SECRET_KEY = "benchmark-only-secret-key-not-for-production"  # noqa: S105
SIGN_IN_AS = "coordinator@example.org"

# The targets: throughput as a share of the hello app's, and p99 latency (README, Benchmark).
STAFF_TARGET = 0.33
FORM_TARGET = 0.25
P99_TARGET_MS = 250
FORM_POST = "public form POST"
# The REST API's organisation list (issue 21): 25 organisations as JSON, for a read token.
# It has no page cache: every request is answered afresh.
API_LIST = "API organisations list"
API_PATHS = {"/api/v1/organisations/"}
# The form as a bot sends it (the honeypot filled in): checked like any submission (CSRF, rate
# limit, form), then answered with the thank-you redirect, storing nothing but the day's count
# of bots (one upsert). No target of its own: it shows what the request alone costs, the least
# any submission costs.
BOT_POST = "public form POST, bot (stores nothing)"
# A yardstick for the API row, not the CRM: the least a token-authenticated list of 25
# organisations costs in Flask and SQLAlchemy (bench/api_floor.py). No target of its own.
API_FLOOR = "API floor: token and page, two queries, bare Flask"
TARGETS = {FORM_POST: FORM_TARGET, BOT_POST: None, API_FLOOR: None}
WARM_UP = 3  # seconds of load before each page is measured


def log(message):
    print(message, file=sys.stderr, flush=True)


def database_url(kind):
    if kind == "sqlite":
        return f"sqlite:///{DATA / 'bench.sqlite3'}"
    return POSTGRES_URL


def reset_database(kind):
    if kind == "sqlite":
        DATA.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            (DATA / f"bench.sqlite3{suffix}").unlink(missing_ok=True)
        return
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(sa.text("DROP DATABASE IF EXISTS crm_bench WITH (FORCE)"))
        connection.execute(sa.text("CREATE DATABASE crm_bench"))
    engine.dispose()


def app_env(kind, crm_env="production"):
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(kind),
        SECRET_KEY=SECRET_KEY,
        CRM_ENV=crm_env,
        # Production answers only for PUBLIC_URL's host; the load comes to 127.0.0.1.
        PUBLIC_URL=PUBLIC_URL,
        # One token makes every API request here: its limit is checked on each (that cost
        # is measured) but set above what the run can reach, so the run measures the API.
        API_RATE_LIMIT="100000000 per minute",
        PYTHONPATH=str(ROOT),
    )
    env.pop("MAIL_SERVER", None)
    return env


def flask(kind, *args, crm_env="production"):
    subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=app_env(kind, crm_env),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def prepare(kind, scale):
    log(f"== Preparing the {kind} database")
    reset_database(kind)
    flask(kind, "db", "upgrade")
    # The demo data's known passwords are refused in production; the benchmark signs in with them.
    flask(kind, "crm", "demo-data", crm_env="development")
    started = time.monotonic()
    counts = {
        "organisations": int(100_000 * scale),
        "contacts": int(200_000 * scale),
        "activities": int(50_000 * scale),
        "enquiries": int(20_000 * scale),
    }
    subprocess.run(
        [PYTHON, str(BENCH / "load_data.py"), *[f"--{k}={v}" for k, v in counts.items()]],
        cwd=ROOT,
        env=app_env(kind),
        check=True,
    )
    log(f"   loaded in {time.monotonic() - started:.0f} s")
    return counts


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn serving an app module on a free port, stopped on exit."""

    def __init__(self, module, env, workers):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--workers",
                str(workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                module,
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                # The CRM's health check, which costs nothing at any scale (its public page
                # can take seconds at 1M organisations); the hello app answers it with 404.
                with urllib.request.urlopen(self.url + "/healthz", timeout=10):  # noqa: S310
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{module} did not start")

    def worker_cpu_seconds(self):
        """User and system CPU time used so far by the gunicorn master's workers (Linux)."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # After the command name (in parentheses): state, ppid, … utime (11), stime (12).
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue  # the process ended while we looked
            if int(fields[1]) == self.process.pid:
                total += int(fields[11]) + int(fields[12])
        return total / ticks

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                # gunicorn lets each worker finish the request in hand (30 s at most).
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class _Inputs(html.parser.HTMLParser):
    """The values of the named inputs of a page (hidden fields and defaults)."""

    def __init__(self):
        super().__init__()
        self.values = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            self.values.setdefault(attrs["name"], attrs.get("value") or "")


def _cookies(response):
    jar = {}
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def _cookie_header(jar):
    return "; ".join(f"{name}={value}" for name, value in jar.items())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def fetch(url, *, cookies=None, data=None):
    request = urllib.request.Request(url, data=data)  # noqa: S310
    if cookies:
        request.add_header("Cookie", _cookie_header(cookies))
    try:
        response = _opener.open(request, timeout=30)
    except urllib.error.HTTPError as error:
        response = error
    body = response.read().decode("utf-8", "replace")
    return response, body


def inputs(body):
    parser = _Inputs()
    parser.feed(body)
    return parser.values


def sign_in(base_url, password):
    response, body = fetch(base_url + "/login")
    jar = _cookies(response)
    fields = inputs(body)
    fields.update(email=SIGN_IN_AS, password=password)
    data = urllib.parse.urlencode(fields).encode()
    response, _body = fetch(base_url + "/login", cookies=jar, data=data)
    jar.update(_cookies(response))
    if response.status not in (302, 303):
        raise RuntimeError(f"signing in failed with {response.status}")
    # Read the first page as a browser would: it shows the welcome message, and the cookie
    # that comes back no longer carries it (wrk replays one cookie for every request).
    response, _body = fetch(base_url + "/tasks/", cookies=jar)
    jar.update(_cookies(response))
    return jar


def form_bodies(base_url, kind, count, *, bot=False):
    """A session cookie and `count` form bodies, each with its own form token; with `bot`,
    the honeypot field is filled in, so the form stores and sends nothing."""
    response, body = fetch(base_url + "/contact?lang=en")
    jar = _cookies(response)
    fields = inputs(body)
    from bench.bench_wsgi import app
    from crm.public.contact_forms import issue_form_token

    lines = []
    with app.app_context():
        for number in range(count):
            values = dict(fields)
            values.update(
                name=f"Bench Sender {number}",
                email=f"bench{number}@example.org",
                phone="",
                organisation_name="Benchmark Company AB",
                organisation_type="company",
                topic="rd_collaboration",
                message="We would like to discuss a joint research project on genomics.",
                acknowledgement="y",
                website="https://bench.example.org" if bot else "",
                form_token=issue_form_token("en"),
            )
            lines.append(urllib.parse.urlencode(values))
    path = Path(tempfile.mkstemp(prefix="crm-bench-bodies-", suffix=".txt")[1])
    path.write_text("\n".join(lines) + "\n")
    return jar, path


_LATENCY = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def run_wrk(
    url,
    *,
    duration,
    connections,
    threads,
    cookies=None,
    headers=None,
    script=None,
    env=None,
    timeout=None,
):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if timeout:
        command.append(f"--timeout={timeout}s")
    if cookies and not script:
        command += ["-H", f"Cookie: {_cookie_header(cookies)}"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    output = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ, **(env or {})}
    ).stdout
    throughput = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = {
        f"p{match[0]}": round(float(match[1]) * _UNITS[match[2]], 2)
        for match in _LATENCY.findall(output)
    }
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    total = re.search(r"(\d+) requests in", output)
    return {
        "requests_per_second": throughput,
        "latency_ms": latency,
        "requests": int(total.group(1)) if total else None,
        "non_2xx_3xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(0) if errors else None,
    }


def measure(server, url, **wrk_options):
    """run_wrk, plus the CPU time the server's workers spent per request (ms): a figure that
    does not depend on how fast the load generator or the other pages are."""
    before = server.worker_cpu_seconds()
    result = run_wrk(url, **wrk_options)
    spent = server.worker_cpu_seconds() - before
    result["worker_cpu_ms"] = (
        round(spent * 1000 / result["requests"], 2) if result["requests"] else None
    )
    return result


def api_token(kind):
    """A read-only API token of the signed-in staff member, made as an operator would."""
    output = subprocess.run(
        [str(VENV_BIN / "flask"), "--app", "wsgi", "crm", "create-token", SIGN_IN_AS]
        + ["--scope", "read", "--days", "1", "--name", "Benchmark"],
        cwd=ROOT,
        env=app_env(kind),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return output.strip()


def count_queries(kind, paths, password, *, token=None):
    """SQL statements per page, counted in-process on the same database."""
    import sqlalchemy as sa

    from bench.bench_wsgi import app

    counts = {}
    client = app.test_client()
    base = "https://127.0.0.1"
    login_page = client.get("/login", base_url=base).get_data(as_text=True)
    fields = inputs(login_page)
    fields.update(email=SIGN_IN_AS, password=password)
    # Flask-WTF checks the Referer of HTTPS form posts.
    client.post("/login", data=fields, base_url=base, headers={"Referer": base + "/login"})
    statements = []

    def count(*_args):
        statements.append(1)

    # Every engine, and the page cache's version read, which goes to the driver directly.
    from crm.core import page_cache

    read_version = page_cache.current_data_version

    def counted_version_read():
        count()
        return read_version()

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
    page_cache.current_data_version = counted_version_read
    try:
        client.get("/tasks/", base_url=base)  # shows the welcome message, once
        for name, path in paths.items():
            measured = []
            for _attempt in range(2):  # rendered, then (with the cache on) served again
                statements.clear()
                headers = {"Authorization": f"Bearer {token}"} if path in API_PATHS else {}
                response = client.get(path, base_url=base, headers=headers)
                measured.append(len(statements))
            counts[name] = {
                "status": response.status_code,
                "queries": measured[0],
                "queries_cached": measured[1] if response.headers.get("X-Page-Cache") else None,
            }
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
        page_cache.current_data_version = read_version
    return counts


# The deep page is the same page at every scale: the last one at SPEC scale (100,000
# organisations at 25 a page). Its cost is that of walking past the earlier rows, so it
# grows with its depth, not with the register; the last page of a million would measure
# the depth instead. The list offers no link there (its count stops at LIST_COUNT_LIMIT).
DEEP_PAGE = 4002


def deep_page(kind):
    """The deep page of the organisations list at 25 a page (DEEP_PAGE, or the last page of
    a smaller register), and the organisation with the most activities."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url(kind))
    with engine.connect() as connection:
        total = connection.execute(
            sa.text("SELECT COUNT(*) FROM organisations WHERE deleted_at IS NULL")
        ).scalar()
        busiest = connection.execute(
            sa.text(
                "SELECT organisation_id FROM activity_organisations GROUP BY organisation_id "
                "ORDER BY COUNT(*) DESC, organisation_id LIMIT 1"
            )
        ).scalar()
    engine.dispose()
    return min(DEEP_PAGE, max(1, (total + 24) // 25)), busiest


def main():
    parser = argparse.ArgumentParser(description="Benchmark the CRM against a bare Flask app.")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiple of SPEC §6's data set (10: 1M organisations)",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per page")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--no-page-cache",
        action="store_true",
        help="measure with the page cache off (every page rendered afresh)",
    )
    parser.add_argument(
        "--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1, help="gunicorn workers"
    )
    parser.add_argument(
        "--mix",
        action="store_true",
        help="the realistic mix (bench/mix.py) instead of the single-URL rows",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk")

    if args.no_page_cache:
        os.environ["PAGE_CACHE_SECONDS"] = "0"
    # Before the app's modules are imported: config reads the environment at import time.
    os.environ.update(app_env(args.db))
    from crm.demo_data import DEMO_PASSWORD

    if args.reuse:
        flask(args.db, "db", "upgrade")  # the loaded data stays; the schema follows the code
        counts = None
    else:
        counts = prepare(args.db, args.scale)
    if args.mix:
        return run_mix(args, counts)
    last_page, busiest = deep_page(args.db)
    pages = {
        "organisations list": "/organisations/",
        "organisations deep page": f"/organisations/?page={last_page}",
        "organisation detail": f"/organisations/{busiest}",
        "search": "/search/?q=nordic+genomics",
        "dashboard": "/dashboard/",
        "public page": "/",
        API_LIST: "/api/v1/organisations/",
    }
    wrk_options = dict(duration=args.duration, connections=args.connections, threads=args.threads)
    results = {}
    env = app_env(args.db)
    # Both apps are up together, and each page is measured right after the hello app: the
    # machine's speed drifts (other tenants, the database's own background work), and a
    # ratio is only fair between two measurements made under the same conditions.
    with (
        Server("bench.hello:app", env, args.workers) as hello,
        Server("bench.bench_wsgi:app", env, args.workers) as crm,
        Server("bench.api_floor:app", env, args.workers) as api_floor,
    ):
        run_wrk(hello.url + "/", **{**wrk_options, "duration": 1})

        def measure_beside_hello(name, url, server=crm, **options):
            result = {"path": urllib.parse.urlsplit(url).path}
            result["hello"] = measure(hello, hello.url + "/", **wrk_options)
            result.update(measure(server, url, **options, **wrk_options))
            log(
                f"   {result['requests_per_second']:.0f} requests/s "
                f"(hello {result['hello']['requests_per_second']:.0f})"
            )
            results[name] = result

        cookies = sign_in(crm.url, DEMO_PASSWORD)
        token = api_token(args.db)
        for name, path in pages.items():
            log(f"== {name}: {path}")
            # The API takes the token, never the session cookie.
            who = (
                {"headers": {"Authorization": f"Bearer {token}"}}
                if path in API_PATHS
                else {"cookies": cookies}
            )
            # A few seconds of the same load first, not counted, so that every worker has
            # rendered the page once (the cold render shows in the queries column and in
            # --no-page-cache runs); with one second, a worker that got no request yet
            # rendered it inside the measurement.
            run_wrk(crm.url + path, **who, **{**wrk_options, "duration": WARM_UP})
            measure_beside_hello(name, crm.url + path, **who)
            if name == API_LIST:
                log(f"== {API_FLOOR}")
                floor_url = api_floor.url + path
                run_wrk(floor_url, **who, **{**wrk_options, "duration": WARM_UP})
                measure_beside_hello(API_FLOOR, floor_url, server=api_floor, **who)
        for name, bot in ((FORM_POST, False), (BOT_POST, True)):
            log(f"== {name}")
            form_cookies, bodies = form_bodies(crm.url, args.db, int(args.duration * 2000), bot=bot)
            try:
                # The form refuses what is sent faster than a person could type it; the
                # hello app is measured first, which takes longer than that.
                measure_beside_hello(
                    name,
                    crm.url + "/contact",
                    script=BENCH / "post_form.lua",
                    env={
                        "BENCH_BODIES": str(bodies),
                        "BENCH_COOKIE": _cookie_header(form_cookies),
                        "BENCH_THREADS": str(args.threads),
                    },
                )
            finally:
                bodies.unlink(missing_ok=True)

    queries = count_queries(args.db, pages, DEMO_PASSWORD, token=token)
    for name, result in results.items():
        hello_rps = result["hello"]["requests_per_second"]
        result["ratio_to_hello"] = round(result["requests_per_second"] / hello_rps, 3)
        result["queries"] = queries.get(name, {}).get("queries")
        result["queries_cached"] = queries.get(name, {}).get("queries_cached")
        target = TARGETS.get(name, STAFF_TARGET)
        result["meets_target"] = target and (
            result["ratio_to_hello"] >= target
            and result["latency_ms"].get("p99", 1e9) < P99_TARGET_MS
            and result["non_2xx_3xx"] == 0
        )
    hello_rates = [result["hello"]["requests_per_second"] for result in results.values()]

    report = _report(
        args,
        counts,
        hello={
            "requests_per_second_min": min(hello_rates),
            "requests_per_second_max": max(hello_rates),
        },
        pages=results,
    )
    out = _save(report)
    print(table(report))
    print(f"\nResults: {out}")
    return 0 if all(result["meets_target"] is not False for result in results.values()) else 1


def _report(args, counts, **results):
    """A run's JSON report: how it was measured, then `results`."""
    return {
        "database": args.db,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": counts or "reused",
        "gunicorn_workers": args.workers,
        "page_cache": not args.no_page_cache,
        "wrk": {"connections": args.connections, "threads": args.threads, "seconds": args.duration},
        "cpus": os.cpu_count(),
        **results,
    }


def _save(report, prefix=""):
    """Write the report to bench/results/<prefix><database>-<cache>-<time>.json; its path."""
    RESULTS.mkdir(exist_ok=True)
    cache = "cache" if report["page_cache"] else "nocache"
    out = RESULTS / f"{prefix}{report['database']}-{cache}-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out.relative_to(ROOT)


def run_mix(args, counts):
    """The realistic mix (bench/mix.py), beside the hello app; its table and JSON."""
    import random

    from bench import mix

    env = app_env(args.db)
    request_log = Path(tempfile.mkdtemp(prefix="crm-bench-requests-"))
    wrk_options = dict(duration=args.duration, connections=args.connections, threads=args.threads)
    try:
        with (
            Server("bench.hello:app", env, args.workers) as hello,
            Server(
                "bench.bench_wsgi:app", {**env, "BENCH_REQUEST_LOG": str(request_log)}, args.workers
            ) as crm,
        ):
            run_wrk(hello.url + "/", **{**wrk_options, "duration": 1})
            result = mix.run_mix(
                crm, hello, args.db, request_log, wrk_options, mix.WARM_UP, random.Random(mix.SEED)
            )
    finally:
        shutil.rmtree(request_log, ignore_errors=True)
    report = _report(args, counts, mix=result)
    out = _save(report, prefix="mix-")
    print(mix.table(report))
    print(f"\nResults: {out}")
    return 0 if all(kind["meets_target"] is not False for kind in result["kinds"].values()) else 1


def _queries(result):
    if result["queries"] is None:
        return "–"
    if result.get("queries_cached") is None:
        return str(result["queries"])
    return f"{result['queries']} ({result['queries_cached']})"


def table(report):
    hello = report["hello"]
    lines = [
        f"Database: {report['database']}; {report['gunicorn_workers']} gunicorn workers; "
        f"page cache {'on' if report['page_cache'] else 'off'}; "
        f"wrk {report['wrk']['connections']} connections, {report['wrk']['seconds']} s per page; "
        f"hello app measured before each page: {hello['requests_per_second_min']:.0f} to "
        f"{hello['requests_per_second_max']:.0f} requests/s",
        "",
        "| page | req/s | hello req/s | ratio | p50 ms | p99 ms | CPU ms (hello) | queries "
        "| non-2xx | target |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    verdicts = {True: "met", False: "MISSED", None: "–"}
    for name, result in report["pages"].items():
        latency = result["latency_ms"]
        lines.append(
            f"| {name} | {result['requests_per_second']:.0f} | "
            f"{result['hello']['requests_per_second']:.0f} | {result['ratio_to_hello']:.2f} | "
            f"{latency.get('p50', '')} | {latency.get('p99', '')} | "
            f"{result['worker_cpu_ms']} ({result['hello']['worker_cpu_ms']}) | "
            f"{_queries(result)} | {result['non_2xx_3xx']} | {verdicts[result['meets_target']]} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

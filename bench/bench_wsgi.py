"""The app as production serves it, for the benchmark: `gunicorn bench.bench_wsgi:app`.

Two differences, because one machine sends all the load from one address: the public form's
and the sign-in's per-address rate limits are raised, so the benchmark measures storing
enquiries, not the 429 answer, and can sign in its many users (bench/mix.py) one after the
other. Everything else (CSRF, secure cookies, headers, the form's bot checks, the sign-in's
password check) is as in production.

With BENCH_REQUEST_LOG set to a folder, every request is also timed where it is served (the
realistic mix, bench/mix.py, reads the records): see RequestLog.
"""

import os
import time

from config import ProductionConfig
from crm import create_app


class BenchConfig(ProductionConfig):
    CONTACT_RATE_LIMIT = "1000000 per second"
    LOGIN_RATE_LIMIT = "1000000 per second"
    # The load is sent to 127.0.0.1 (bench/run.py sets the same).
    PUBLIC_URL = os.environ.get("PUBLIC_URL") or "http://127.0.0.1"


class RequestLog:
    """WSGI middleware: one line per request in <folder>/requests-<pid>.tsv.

    Each line: the time it ended (Unix seconds), the page kind (the X-Bench-Kind header the
    load generator sends, else the path), the method, the status, the wall time and the CPU
    time of the worker's thread (time.thread_time), both in ms, and 1 when the page cache
    answered (X-Page-Cache: hit), else 0, and the load generator's run (its X-Bench-Run
    header, else -). The times run from the moment gunicorn
    hands over the request until the response's body has been written and closed (gunicorn
    writes the body to the socket while it reads it from the app). What is left out is
    gunicorn reading the request and its own loop: bench/mix.py spreads that evenly, from the
    workers' total CPU time.

    The X-Bench-Sent and X-Bench-Kind headers are echoed back, so the load generator can
    time each request per kind itself (bench/mix.lua).
    """

    def __init__(self, app, folder):
        self.app = app
        self.folder = folder
        self.fd = None
        self.pid = None

    def _write(self, line):
        if self.pid != os.getpid():  # opened in the worker, after gunicorn has forked it
            self.pid = os.getpid()
            self.fd = os.open(
                os.path.join(self.folder, f"requests-{self.pid}.tsv"),
                os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                0o644,
            )
        os.write(self.fd, line.encode())

    def __call__(self, environ, start_response):
        wall, cpu = time.perf_counter(), time.thread_time()
        kind = environ.get("HTTP_X_BENCH_KIND") or environ.get("PATH_INFO", "")
        sent = environ.get("HTTP_X_BENCH_SENT")
        run = environ.get("HTTP_X_BENCH_RUN", "-")
        status, cached = [], []

        def recording_start_response(line, headers, exc_info=None):
            status[:] = [line[:3]]
            cached[:] = [
                any(name.lower() == "x-page-cache" and value == "hit" for name, value in headers)
            ]
            if sent:
                headers = [*headers, ("X-Bench-Sent", sent), ("X-Bench-Kind", kind)]
            return start_response(line, headers, exc_info)

        def finished():
            self._write(
                f"{time.time():.3f}\t{kind}\t{environ.get('REQUEST_METHOD')}\t"
                f"{status[0] if status else '-'}\t{(time.perf_counter() - wall) * 1000:.3f}\t"
                f"{(time.thread_time() - cpu) * 1000:.3f}\t{int(bool(cached and cached[0]))}\t"
                f"{run}\n"
            )

        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            finished()
            raise
        return _Closing(body, finished)


class _Closing:
    """The response body, passed through; `finished` is called once it has been closed."""

    def __init__(self, body, finished):
        self.body = body
        self.finished = finished

    def __iter__(self):
        return iter(self.body)

    def close(self):
        try:
            if hasattr(self.body, "close"):
                self.body.close()
        finally:
            self.finished()


app = create_app(BenchConfig)
if os.environ.get("BENCH_REQUEST_LOG"):
    app.wsgi_app = RequestLog(app.wsgi_app, os.environ["BENCH_REQUEST_LOG"])

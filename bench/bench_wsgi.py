"""The app as production serves it, for the benchmark: `gunicorn bench.bench_wsgi:app`.

One difference, because one machine sends all the load from one address: the public form's
per-address rate limit is raised, so the benchmark measures storing enquiries, not the 429
answer. Everything else (CSRF, secure cookies, headers, the form's bot checks) is as in
production.
"""

import os

from config import ProductionConfig
from crm import create_app


class BenchConfig(ProductionConfig):
    CONTACT_RATE_LIMIT = "1000000 per second"
    # The load is sent to 127.0.0.1 (bench/run.py sets the same).
    PUBLIC_URL = os.environ.get("PUBLIC_URL") or "http://127.0.0.1"


app = create_app(BenchConfig)

"""The app as production serves it, for the benchmark: `gunicorn bench.bench_wsgi:app`.

One difference, because one machine sends all the load from one address: the public form's
per-address rate limit is raised, so the benchmark measures storing enquiries, not the 429
answer. Everything else (CSRF, secure cookies, headers, the form's bot checks) is as in
production.
"""

from config import ProductionConfig
from crm import create_app


class BenchConfig(ProductionConfig):
    CONTACT_RATE_LIMIT = "1000000 per second"


app = create_app(BenchConfig)

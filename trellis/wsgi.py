"""The WSGI application a production server (gunicorn, docs/operations.md) imports, once in each
worker process."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trellis.settings")
application = get_wsgi_application()

# Python's cycle collector, tuned for a long-lived server (docs/benchmarks.md, "8 December 2026
# (morning)", with the figures): the objects loaded so far (modules, settings, URL patterns, the
# ORM's models) live as long as the process, so they are frozen out of every later collection;
# and the youngest generation is collected after 10,000 new container objects rather than 700,
# since a page builds thousands of short-lived ones that reference counting already frees.
gc.collect()
gc.freeze()
gc.set_threshold(10_000, 10, 10)

"""Development tools for load tests and the outcomes dashboard, kept out of the product: the
synthetic clinic network (``synth``, ``manage.py synth``), its bulk loader (``bulk``) and the
hand-written SQL that checks the dashboard's figures (``reference``). A Django app
(``bench.synthetic``) installed only in development (see ``DEV_APPS`` in trellis/settings.py) and
by the benchmark's settings; docs/reports.md describes it."""

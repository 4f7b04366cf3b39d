"""The benchmark's steps that need Django: each runs in its own process against the bench
database (bench/run.py starts them with the bench server's environment) and prints one JSON line.

    python -m bench.tasks db-info
    python -m bench.tasks synth --clinics 4 --patients 10000   # bench.synthetic.synth.generate
    python -m bench.tasks prepare-mix --clients 32       # staff sessions and request variants
    python -m bench.tasks outcomes --repeat 5            # dashboard query beside the reference
    python -m bench.tasks raw-insert --rows 500000       # the limit for synth's rows/s
    python -m bench.tasks export                         # FHIR $export of the busiest clinic
    python -m bench.tasks outcomes-replica --repeat 5    # the dashboard on the replica, primary
"""

import argparse
import dataclasses
import json
import random
import secrets
import statistics
import string
import sys
import time
from datetime import date, timedelta

ROLE_USERNAME = "bench"

FAILED_TRIALS = [
    {"drug": drug, "weeks": 8, "adequate_dose": True, "outcome": "inadequate_response"}
    for drug in ("sertraline", "venlafaxine")
]


def _setup() -> None:
    import django

    django.setup()


def _csrf_token() -> str:
    """A CSRF secret as Django's cookie holds it (32 letters and digits); the same value in the
    form passes the check, as Django accepts an unmasked secret."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(32))


def _staff_sessions(user, clients: int, csrf: str) -> list[str]:
    """One signed-in session per client, second factor verified: what the login and MFA pages
    leave behind, made directly so the benchmark measures the clinic's pages, not sign-in."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device, _ = TOTPDevice.objects.get_or_create(
        user=user, name="benchmark", defaults={"confirmed": True}
    )
    cookies = []
    for _ in range(clients):
        store = SessionStore()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
        store.create()
        cookies.append(
            f"{settings.SESSION_COOKIE_NAME}={store.session_key}; "
            f"{settings.CSRF_COOKIE_NAME}={csrf}"
        )
    return cookies


def _busiest_clinic():
    from django.db.models import Count

    from trellis.accounts.models import Clinic
    from trellis.patients.models import Patient

    top = Patient.objects.values("clinic").annotate(n=Count("pk")).order_by("-n", "clinic").first()
    if top is None:
        raise SystemExit("prepare-mix: the database has no patients; run synth first")
    return Clinic.objects.get(pk=top["clinic"])


def _open_sessions(actor, count: int) -> list:
    """Bench patients, each with a signed screening, an IV ketamine course and its first session
    begun today: open notes that take vitals, as on a clinic's busy morning."""
    from django.utils import timezone

    from trellis.patients import services as patients
    from trellis.patients.models import Sex
    from trellis.testing import SAFE_ANSWERS
    from trellis.treatments import services, sessions

    today = timezone.localdate(timezone=actor.clinic.tzinfo)
    opened = []
    for n in range(count):
        patient = patients.register_patient(
            actor,
            given_name="Bench",
            family_name=f"Vitals{n:02d}",
            birth_date=date(1980, 1, 1) + timedelta(days=97 * n),
            sex=Sex.FEMALE if n % 2 else Sex.MALE,
        )
        screening = patients.create_screening(actor, patient, SAFE_ANSWERS, FAILED_TRIALS)
        patients.sign_screening(actor, screening, acknowledge_cautions=True)
        course = services.start_course(actor, patient, "ketamine-iv-induction", today)
        first = course.sessions.order_by("number").first()
        # A weekend start plans session 1 for Monday: the bench prescriber begins it today.
        reason = "" if first.planned_date == today else "Benchmark: an open note today"
        opened.append(sessions.begin_session(actor, first, reason=reason))
    return opened


def prepare_mix(*, clients: int, seed: int = 1, patients: int = 400, open_sessions: int = 16):
    """The interactive mix's staff sessions and request variants, as a plan fragment for
    bench/driver.py: ``{"cookies": […], "kinds": […], "clinic": …}``, and ``floor``: the kind
    of request that costs what every page of the mix costs before its own work."""
    from urllib.parse import urlencode

    from django.urls import reverse
    from django.utils import timezone

    from trellis.accounts.access import Actor
    from trellis.accounts.models import Membership, User
    from trellis.accounts.permissions import Role
    from trellis.measures import instruments
    from trellis.patients.models import Patient

    rng = random.Random(seed)  # noqa: S311 -- repeatable request variants, not secrets
    clinic = _busiest_clinic()
    user, _ = User.objects.get_or_create(
        username=ROLE_USERNAME, defaults={"first_name": "Bench", "last_name": "Prescriber"}
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    membership, _ = Membership.objects.get_or_create(
        user=user, clinic=clinic, defaults={"role": Role.PRESCRIBER}
    )
    actor = Actor(user, membership, "127.0.0.1")
    opened = _open_sessions(actor, open_sessions)

    rows = list(
        Patient.objects.filter(clinic=clinic)
        .order_by("mrn")
        .values_list("id", "family_name", "mrn")
    )
    sample = rng.sample(rows, min(patients, len(rows)))
    csrf = _csrf_token()
    cookies = _staff_sessions(user, clients, csrf)

    tz = clinic.tzinfo
    observed = timezone.localtime(timezone.now() - timedelta(minutes=30), tz)
    phq9 = instruments.get_instrument("phq9")
    phq9_variants = []
    for pid, _, _ in sample[:100]:
        answers = {f"item_{item.number}": rng.choice([0, 1, 1, 2, 2, 3]) for item in phq9.items}
        answers["item_9"] = 0  # no safety alert per submission: the mix is a routine day
        form = {
            "csrfmiddlewaretoken": csrf,
            **answers,
            "difficulty": rng.choice([0, 1, 2]),
            "observed_at": observed.strftime("%Y-%m-%dT%H:%M"),
            "course": "",
        }
        phq9_variants.append(
            {"path": reverse("measure_new", args=[pid, "phq9"]), "body": urlencode(form)}
        )
    vitals_variants = []
    for session in opened:
        taken_at = timezone.localtime(session.started_at, tz).strftime("%H:%M")
        for _ in range(8):
            systolic = rng.randint(112, 138)
            form = {
                "csrfmiddlewaretoken": csrf,
                "taken_at": taken_at,
                "label": "during",
                "bp_systolic": systolic,
                "bp_diastolic": rng.randint(68, min(88, systolic - 20)),
                "heart_rate": rng.randint(62, 92),
                "spo2": rng.randint(96, 99),
                "respiratory_rate": rng.randint(12, 18),
            }
            vitals_variants.append(
                {"path": reverse("session_vitals", args=[session.pk]), "body": urlencode(form)}
            )
    search = reverse("patient_list")
    search_variants = [{"path": f"{search}?{urlencode({'q': name[:3]})}"} for _, name, _ in sample]
    search_variants += [{"path": f"{search}?{urlencode({'q': mrn})}"} for _, _, mrn in sample[:50]]
    # A clinic's morning, per 100 requests: the records looked up and the questionnaires and
    # vitals entered dominate; the day calendar, the home page's lists, the open session notes
    # and the stock page are what staff keep coming back to between them.
    day = reverse("calendar_day")
    kinds = [
        {
            "name": "patient page",
            "method": "GET",
            "weight": 26,
            "expect": [200],
            "variants": [{"path": reverse("patient_detail", args=[pid])} for pid, _, _ in sample],
        },
        {"name": "patient search", "method": "GET", "weight": 20, "expect": [200],
         "variants": search_variants},
        {"name": "PHQ-9 submission", "method": "POST", "weight": 13, "expect": [302],
         "variants": phq9_variants},
        {"name": "session vitals entry", "method": "POST", "weight": 12, "expect": [302],
         "variants": vitals_variants},
        {"name": "day calendar", "method": "GET", "weight": 10, "expect": [200],
         "variants": [{"path": day}]},
        {"name": "home page", "method": "GET", "weight": 7, "expect": [200],
         "variants": [{"path": reverse("home")}]},
        {"name": "session page", "method": "GET", "weight": 8, "expect": [200],
         "variants": [{"path": reverse("session_detail", args=[s.pk])} for s in opened]},
        {"name": "stock page", "method": "GET", "weight": 4, "expect": [200],
         "variants": [{"path": reverse("controlled_stock")}]},
    ]  # fmt: skip
    # The floor under every page of the mix: signed in (session, staff account, second factor,
    # membership), the search audited, the top bar drawn, and no record read or shown.
    floor = {"name": "staff page floor", "method": "GET", "weight": 1, "expect": [200],
             "variants": [{"path": f"{search}?{urlencode({'q': 'Zzyzx'})}"}]}  # fmt: skip
    return {
        "clinic": clinic.name,
        "patients_in_clinic": len(rows),
        "cookies": cookies,
        "kinds": kinds,
        "floor": floor,
    }


def synth(clinics: int, patients: int, seed: int) -> dict:
    """The synthetic network (bench/synthetic/synth.py), as ``manage.py synth`` writes it."""
    from bench.synthetic.synth import generate

    made = generate(clinics, patients, seed)
    return {
        "clinics": clinics,
        "patients": patients,
        "rows": made.rows,
        "seconds": round(made.seconds, 3),
        "rows_per_second": round(made.rows_per_second, 1),
        "rebuild_seconds": round(made.rebuild_seconds, 3),
        "indexes_built": made.indexes,
        "foreign_keys_added": made.foreign_keys,
        "tables": getattr(made, "tables", {}),
    }


def _timed(function, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - started, result


def outcomes(repeat: int) -> dict:
    """The dashboard's set-based computation beside the hand-written reference query, each run
    once to warm the cache and then ``repeat`` times, alternating; medians in seconds."""

    from trellis.accounts.models import Clinic
    from trellis.patients.models import Patient

    try:
        from bench.synthetic import reference
        from trellis.reports import outcomes as dashboard
    except ImportError as error:  # the dashboard is not there yet: say so, measure the rest
        return {"missing": str(error)}

    outcome_table, reference_rows = dashboard.outcome_table, reference.reference_rows
    clinic_ids = list(Clinic.objects.order_by("pk").values_list("pk", flat=True))
    try:
        _, table = _timed(outcome_table, clinic_ids)
        _, reference = _timed(reference_rows, clinic_ids)
    except Exception as error:  # reported as a failed figure; the run goes on
        return {"error": f"{type(error).__name__}: {error}"}
    dashboard_times, reference_times = [], []
    for _ in range(repeat):
        seconds, table = _timed(outcome_table, clinic_ids)
        dashboard_times.append(seconds)
        seconds, reference = _timed(reference_rows, clinic_ids)
        reference_times.append(seconds)
    return {
        "clinics": len(clinic_ids),
        "patients": Patient.objects.count(),
        "same_numbers": _same(table, reference),
        "dashboard_rows": len(table),
        "reference_rows": len(reference),
        "dashboard_s": [round(s, 4) for s in dashboard_times],
        "reference_s": [round(s, 4) for s in reference_times],
        "dashboard_median_s": round(statistics.median(dashboard_times), 4),
        "reference_median_s": round(statistics.median(reference_times), 4),
    }


def outcomes_on_replica(repeat: int) -> dict:
    """The dashboard's computation read on the streaming replica (``DATABASE_REPLICA_URL``, as
    the dashboard reads it: inside ``replica.from_replica()``) beside the same on the primary,
    each checked against the reference query on the primary; run once each to warm the caches,
    then ``repeat`` times, alternating. Counts each run's queries per database, to show where
    they went."""
    from contextlib import ExitStack

    from django.db import connections

    from bench.synthetic import reference
    from trellis.accounts.models import Clinic
    from trellis.lib import replica
    from trellis.patients.models import Patient
    from trellis.reports import outcomes as dashboard

    if not replica.configured():
        return {"error": "no replica: DATABASE_REPLICA_URL is not set"}
    clinic_ids = list(Clinic.objects.order_by("pk").values_list("pk", flat=True))
    counts = {"replica": {}, "primary": {}, "reference": {}}
    run = ["reference"]  # whose queries are being counted

    def counter(alias: str):
        def count(execute, sql, params, many, context):
            queries = counts[run[0]]
            queries[alias] = queries.get(alias, 0) + 1
            return execute(sql, params, many, context)

        return count

    def on_replica():
        run[0] = "replica"
        with replica.from_replica():
            aliases.add(replica.read_alias())
            return dashboard.outcome_table(clinic_ids)

    def on_primary():
        run[0] = "primary"
        return dashboard.outcome_table(clinic_ids)

    def the_reference():
        run[0] = "reference"
        return reference.reference_rows(clinic_ids)

    aliases: set[str] = set()
    times = {"replica": [], "primary": [], "reference": []}
    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(counter(alias)))
        try:
            on_replica(), on_primary()
            expected = the_reference()
            for _ in range(repeat):
                seconds, from_replica = _timed(on_replica)
                times["replica"].append(seconds)
                seconds, from_primary = _timed(on_primary)
                times["primary"].append(seconds)
                seconds, expected = _timed(the_reference)
                times["reference"].append(seconds)
        except Exception as error:  # reported as a failed figure; the run goes on
            return {"error": f"{type(error).__name__}: {error}"}
    return {
        "clinics": len(clinic_ids),
        "patients": Patient.objects.count(),
        "read_alias": sorted(aliases),
        "queries_replica_runs": counts["replica"],
        "queries_primary_runs": counts["primary"],
        "same_numbers_replica": _same(from_replica, expected),
        "same_numbers_primary": _same(from_primary, expected),
        "dashboard_rows": len(from_replica),
        **{f"{where}_s": [round(s, 4) for s in seconds] for where, seconds in times.items()},
        **{
            f"{where}_median_s": round(statistics.median(seconds), 4)
            for where, seconds in times.items()
        },
    }


def export() -> dict:
    """A system-level FHIR $export of the busiest clinic, built as the worker builds it
    (``trellis.fhir.bulk.run_pending``): resources written per second, files and their bytes."""
    from django.db.models import Sum
    from django.db.models.functions import Length

    from trellis.accounts.access import Actor
    from trellis.accounts.models import Membership, User
    from trellis.accounts.permissions import Role
    from trellis.fhir import bulk
    from trellis.fhir.models import ExportFile, ExportKind
    from trellis.patients.models import Patient

    clinic = _busiest_clinic()
    user, _ = User.objects.get_or_create(
        username="bench-export", defaults={"first_name": "Bench", "last_name": "Administrator"}
    )
    membership, _ = Membership.objects.get_or_create(
        user=user, clinic=clinic, defaults={"role": Role.CLINIC_ADMIN}
    )
    job = bulk.request_export(
        Actor(user, membership, "127.0.0.1"), ExportKind.SYSTEM, request_url="bench"
    )
    seconds, _ = _timed(bulk.run_pending)
    job.refresh_from_db()
    files = ExportFile.objects.filter(job=job)
    made = files.aggregate(resources=Sum("count"), size=Sum(Length("content")))
    by_type = {
        row["resource_type"]: row["n"]
        for row in files.values("resource_type").annotate(n=Sum("count"))
    }
    resources = made["resources"] or 0
    return {
        "status": job.status,
        "patients_in_clinic": Patient.objects.filter(clinic=clinic).count(),
        "resources": resources,
        "by_type": by_type,
        "files": files.count(),
        "stored_bytes": made["size"] or 0,
        "seconds": round(seconds, 3),
        "resources_per_second": round(resources / seconds, 1) if seconds else None,
    }


def _same(table: list, reference: list) -> bool:
    """The dashboard's rows equal the reference's (floats to 9 places), whatever their order."""

    def key(values) -> tuple:
        return tuple(round(v, 9) if isinstance(v, float) else str(v) for v in values)

    mine = sorted(key(dataclasses.astuple(row)) for row in table)
    return mine == sorted(key(row) for row in reference)


SCRATCH = "bench_raw_insert"
COLUMNS = "id, clinic_id, patient_id, instrument, total, answers, observed_at, created_at"
INSERT_SCRATCH = f"INSERT INTO {SCRATCH} ({COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"  # noqa: S608 -- constants only


def raw_insert(rows: int, batch: int = 10_000) -> dict:
    """The limit for synth: plain INSERTs of rows shaped like a questionnaire answer (a UUID, two
    keys, a code, a score, a JSON list of answers, two timestamps) into a scratch table with a
    primary key only, through the same Django connection and settings, ``batch`` rows a
    transaction. On PostgreSQL through COPY, its fastest bulk path. The keys are ordered, as
    synth's are (``IdRandom``, 20 rows a patient), so that each insert appends."""
    from django.db import connection, transaction

    from bench.synthetic.bulk import IdRandom

    _setup_scratch(connection)
    base = "2025-01-06 09:30:00+00"
    ids = [IdRandom(7, 1, 1 + n) for n in range(rows // 20 + 1)]
    # The rows are made before the clock starts: the limit is what the database takes in.
    chunks = [
        [
            (
                ids[n // 20].uuid(),
                1 + n % 7,
                1 + n // 20,
                "phq9",
                n % 28,
                json.dumps([(n + i) % 4 for i in range(9)]),
                base,
                base,
            )
            for n in range(offset, min(rows, offset + batch))
        ]
        for offset in range(0, rows, batch)
    ]
    started = time.perf_counter()
    written = 0
    for chunk in chunks:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {SCRATCH} ({COLUMNS}) FROM STDIN") as copy:
                    for row in chunk:
                        copy.write_row(row)
            else:
                cursor.executemany(INSERT_SCRATCH, chunk)
        written += len(chunk)
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {SCRATCH}")
    return {
        "rows": written,
        "seconds": round(seconds, 3),
        "rows_per_second": round(written / seconds, 1),
        "method": "COPY" if connection.vendor == "postgresql" else "executemany",
    }


def _setup_scratch(connection) -> None:
    json_type = "JSONB" if connection.vendor == "postgresql" else "TEXT"
    time_type = "TIMESTAMPTZ" if connection.vendor == "postgresql" else "TEXT"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
        cursor.execute(
            f"CREATE TABLE {SCRATCH} (id CHAR(32) PRIMARY KEY, clinic_id BIGINT NOT NULL, "
            f"patient_id BIGINT NOT NULL, instrument VARCHAR(8) NOT NULL, total SMALLINT NOT NULL,"
            f" answers {json_type} NOT NULL, observed_at {time_type} NOT NULL, "
            f"created_at {time_type} NOT NULL)"
        )


def db_info() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        version = str(cursor.fetchone()[0]).split()[0]
    name = "PostgreSQL" if connection.vendor == "postgresql" else "SQLite"
    return {"vendor": connection.vendor, "database": f"{name} {version}"}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tasks")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("db-info")
    mix = commands.add_parser("prepare-mix")
    mix.add_argument("--clients", type=int, default=32)
    mix.add_argument("--seed", type=int, default=1)
    network = commands.add_parser("synth")
    network.add_argument("--clinics", type=int, required=True)
    network.add_argument("--patients", type=int, required=True)
    network.add_argument("--seed", type=int, default=2026)
    report = commands.add_parser("outcomes")
    report.add_argument("--repeat", type=int, default=5)
    on_replica = commands.add_parser("outcomes-replica")
    on_replica.add_argument("--repeat", type=int, default=5)
    commands.add_parser("export")
    raw = commands.add_parser("raw-insert")
    raw.add_argument("--rows", type=int, default=500_000)
    args = parser.parse_args(argv)
    _setup()
    if args.command == "db-info":
        result = db_info()
    elif args.command == "prepare-mix":
        result = prepare_mix(clients=args.clients, seed=args.seed)
    elif args.command == "synth":
        result = synth(args.clinics, args.patients, args.seed)
    elif args.command == "outcomes":
        result = outcomes(args.repeat)
    elif args.command == "export":
        result = export()
    elif args.command == "outcomes-replica":
        result = outcomes_on_replica(args.repeat)
    else:
        result = raw_insert(args.rows)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

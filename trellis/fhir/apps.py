from django.apps import AppConfig


def _exported(count: int) -> str:
    return f"completed {count} FHIR export{'s' * (count != 1)}"


def _expired(count: int) -> str:
    return f"deleted the files of {count} expired FHIR export{'s' * (count != 1)}"


class FhirConfig(AppConfig):
    name = "trellis.fhir"
    label = "fhir"
    verbose_name = "FHIR R4"

    def ready(self) -> None:
        from trellis.fhir import bulk, smart  # noqa: F401 (smart registers its Bearer tokens)
        from trellis.messaging import jobs

        # Bulk exports are built by the outbox worker, at most half a minute a pass, after the
        # clinical jobs; the next pass resumes where this one stopped.
        jobs.register(
            "fhir_export", lambda now: bulk.run_pending(now, seconds=30), _exported, order=900
        )
        jobs.register("fhir_export_expiry", bulk.expire_exports, _expired, order=910)

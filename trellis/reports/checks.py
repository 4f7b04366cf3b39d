from django.core.checks import Tags, Warning, register
from django.db import DatabaseError


@register(Tags.database)
def deferred_indexes_check(app_configs, databases=None, **kwargs):
    """Warn while indexes dropped by a killed bulk load are missing (queries slow down)."""
    if not databases or "default" not in databases:
        return []
    from trellis.reports.models import DeferredIndex

    try:
        names = list(DeferredIndex.objects.values_list("name", flat=True))
    except DatabaseError:  # before migrate
        return []
    if not names:
        return []
    return [
        Warning(
            f"{len(names)} indexes dropped by an interrupted synth run are missing "
            f"({', '.join(names[:3])}{' …' if len(names) > 3 else ''}); queries on those "
            "tables are slow until they are built again.",
            hint="Run: python manage.py synth --restore-indexes",
            id="reports.W001",
        )
    ]

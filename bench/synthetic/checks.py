from django.core.checks import Tags, Warning, register
from django.db import DatabaseError


@register(Tags.database)
def deferred_schema_check(app_configs, databases=None, **kwargs):
    """Warn while indexes or foreign keys dropped by a killed bulk load are missing."""
    if not databases or "default" not in databases:
        return []
    from bench.synthetic.models import DeferredSchema

    try:
        names = list(DeferredSchema.objects.values_list("name", flat=True))
    except DatabaseError:  # before migrate
        return []
    if not names:
        return []
    return [
        Warning(
            f"{len(names)} indexes or foreign keys dropped by an interrupted synth run are "
            f"missing ({', '.join(names[:3])}{' …' if len(names) > 3 else ''}); queries on "
            "those tables are slow, and their references unchecked, until they are put back.",
            hint="Run: python manage.py synth --restore",
            id="synthetic.W001",
        )
    ]

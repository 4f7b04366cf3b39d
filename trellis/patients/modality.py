"""The treatments Trellis documents: the one definition of a modality's code and name.

Stored on protocols and courses, sent and received by the API, and used by the pure rule
modules (eligibility, schedules); it needs Django's enum only, no settings and no database.
It lives with the patients app because screening is the first step of the pathway that speaks
of modalities (eligibility per modality); treatments and every later app import it from here.
"""

from django.db.models.enums import TextChoices


class Modality(TextChoices):
    IV_KETAMINE = "iv_ketamine", "IV ketamine"
    ESKETAMINE = "esketamine", "Esketamine (Spravato)"
    TMS = "tms", "TMS"
    ORAL_KETAMINE = "oral_ketamine", "Oral or sublingual ketamine"


# Ketamine-family doses documented in Trellis: IV infusions, esketamine and oral or sublingual
# ketamine given in the clinic, never two on one day (DOMAIN.md §8.14).
KETAMINE_FAMILY = (Modality.IV_KETAMINE, Modality.ESKETAMINE, Modality.ORAL_KETAMINE)

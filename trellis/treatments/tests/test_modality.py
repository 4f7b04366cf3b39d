"""One definition of the modalities: every rule and table uses ``Modality``."""

from django.test import SimpleTestCase

from trellis.measures import schedule
from trellis.patients import eligibility
from trellis.patients.modality import KETAMINE_FAMILY, Modality
from trellis.treatments import protocols
from trellis.treatments.forms import FORMS
from trellis.treatments.models import MODALITY_CHOICES, Course, Protocol


class ModalityTest(SimpleTestCase):
    def test_the_stored_choices_are_the_enum(self):
        self.assertEqual(MODALITY_CHOICES, Modality.choices)
        for model in (Course, Protocol):
            self.assertEqual(model._meta.get_field("modality").choices, Modality.choices)

    def test_every_rule_table_names_the_same_three(self):
        cases = [
            ("eligibility", set(eligibility.MODALITIES)),
            ("note forms", set(FORMS)),
            ("built-in protocols", {p["modality"] for p in protocols.BUILTIN}),
        ]
        for name, found in cases:
            with self.subTest(name):
                self.assertEqual(found, set(Modality))
                self.assertTrue(all(isinstance(m, Modality) for m in found))
        self.assertEqual(set(schedule.MODALITIES_WITH_PRE_SESSION), set(KETAMINE_FAMILY))
        self.assertEqual(schedule.TMS, Modality.TMS)

    def test_a_modality_is_its_stored_code(self):
        for member, code, label in (
            (Modality.IV_KETAMINE, "iv_ketamine", "IV ketamine"),
            (Modality.ESKETAMINE, "esketamine", "Esketamine (Spravato)"),
            (Modality.TMS, "tms", "TMS"),
        ):
            with self.subTest(code):
                self.assertEqual((member, str(member), member.label), (code, code, label))

"""The eligibility cards on the screening page speak in words: an eligible card says no
contraindication or caution was found, and reasons name the answer they look at, never its key."""

from trellis.patients import services
from trellis.patients.models import Screening
from trellis.testing import SAFE_ANSWERS, TrellisTestCase, actor_for

TWO_FAILED = [
    {"drug": "sertraline", "weeks": 8, "adequate_dose": True, "outcome": "inadequate_response"},
    {"drug": "bupropion", "weeks": 12, "adequate_dose": True, "outcome": "inadequate_response"},
]


class ScreeningCardWordingTests(TrellisTestCase):
    def screening(self, answers):
        actor = actor_for(self.prescriber, self.clinic_a)
        return services.create_screening(actor, self.patient, answers, TWO_FAILED)

    def test_an_eligible_card_says_no_contraindication_or_caution_was_found(self):
        screening = self.screening(SAFE_ANSWERS)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/screenings/{screening.id}/")
        self.assertContains(page, "No contraindication or caution found.", count=4)
        self.assertNotContains(page, "No rule applies")

    def test_reasons_name_the_answer_in_words_not_its_key(self):
        answers = {**SAFE_ANSWERS, "head_metal_implant": True}
        del answers["seizure_history"]
        screening = self.screening(answers)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/screenings/{screening.id}/")
        self.assertContains(page, "Metal implant in or near the head (within 30 cm of the coil) ·")
        self.assertContains(page, "Unknown: History of seizures (not answered).")
        self.assertNotContains(page, "<code>tms.head_metal_implant</code>")
        self.assertNotContains(page, "seizure_history (not answered)")

    def test_a_screening_stored_with_raw_keys_still_reads_in_words(self):
        screening = self.screening(
            {k: v for k, v in SAFE_ANSWERS.items() if k != "seizure_history"}
        )
        findings = screening.findings
        for reason in findings["tms"]["reasons"]:
            reason["message"] = reason["message"].replace(
                "History of seizures (not answered)", "seizure_history (not answered)"
            )
        Screening.objects.filter(pk=screening.pk).update(findings=findings)
        self.sign_in(self.prescriber)
        page = self.client.get(f"/screenings/{screening.id}/")
        self.assertContains(page, "Unknown: History of seizures (not answered).")
        self.assertNotContains(page, "seizure_history (not answered)")

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "trellis.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from trellis.accounts.permissions import Perm
        from trellis.audit import naming
        from trellis.billing import insurance_selectors, insurance_services, selectors, services
        from trellis.patients import panels
        from trellis.treatments import hooks

        # How the audit report names billing records.
        naming.register("billing.fee", lambda fee, tz: f"Fee for {fee.code}")

        naming.register("billing.payer", lambda payer, tz: f"Payer {payer.name}")
        naming.register(
            "billing.coverage", lambda c, tz: f"Coverage with {c.payer}", related=["payer"]
        )
        naming.register(
            "billing.priorauthorization",
            lambda a, tz: f"Prior authorisation {a.number or 'request'} ({a.payer})",
            related=["payer"],
        )
        naming.register(
            "billing.goodfaithestimate", lambda e, tz: f"Good Faith Estimate {e.number}"
        )
        # Coverage, prior authorisations and estimates on the patient's page.
        panels.register("insurance", Perm.COVERAGE_READ, insurance_selectors.patient_card)
        # The payer's authorised sessions of a course are its approved prior authorisations';
        # a course started with authorised sessions records them as one.
        hooks.on_authorised_units(insurance_selectors.authorised_units)
        hooks.on_course_planned(insurance_services.authorisation_from_course)
        hooks.on_course_page(insurance_selectors.course_part)
        naming.register("billing.diagnosis", lambda row, tz: f"Diagnosis {row.code}")
        naming.register(
            "billing.charge",
            from_id=lambda value: "Charges",
        )
        naming.register(
            "billing.payment",
            lambda row, tz: f"Payment of {naming.day(row.received_on, tz)}",
        )
        # A signed session's charges are written in its signing's transaction; the patient's
        # page shows the problem list and the account (patients and treatments import nothing
        # from here).
        hooks.on_session_signed(services.capture_session)
        panels.register("diagnoses", Perm.DIAGNOSIS_READ, selectors.diagnosis_card)
        panels.register("billing", Perm.BILLING_READ, selectors.billing_card)

"""The demo clinics' education library: the shipped pages, reviewed by the clinic's prescriber
and published, so the portal has pages to show. Idempotent: a page already reviewed, or one
the clinic has edited, is left as it is."""

from trellis.accounts.access import Actor
from trellis.accounts.models import Clinic, Membership
from trellis.accounts.permissions import Role
from trellis.portal import education


def add_education(clinic: Clinic) -> None:
    prescriber = (
        Membership.objects.filter(clinic=clinic, role=Role.PRESCRIBER, is_active=True)
        .select_related("user", "clinic")
        .first()
    )
    if prescriber is None:
        return
    actor = Actor(prescriber.user, prescriber, "demo-loader")
    education.load_shipped(clinic, actor)
    for page in education.staff_pages(actor):
        if not page.is_reviewed and page.shipped_hash:
            page = education.review_page(actor, page)
            education.publish_page(actor, page)

"""What accounts tells the apps above it, sent inside the transaction of the change.

The audit app records these (``trellis.audit.signals``); accounts imports no app above it.
"""

from django.dispatch import Signal

# A member of staff saved their clinic's settings: sent with ``actor``, ``clinic`` and
# ``changed`` (the names of the fields that changed).
clinic_updated = Signal()

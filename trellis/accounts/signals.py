"""What accounts tells the apps above it, sent inside the transaction of the change.

The audit app records these (``trellis.audit.signals``); accounts imports no app above it.
"""

from django.dispatch import Signal

# A member of staff saved their clinic's settings: sent with ``actor``, ``clinic`` and
# ``changed`` (the names of the fields that changed).
clinic_updated = Signal()

# A clinic administrator changed a member of staff (``trellis.accounts.staff``), or someone
# changed their own password: sent with ``actor`` (an Actor, or None for a reset by e-mail),
# ``member`` (the User changed), ``change`` (what: "invited", "role_changed", "deactivated", …),
# ``created`` (True when the account itself was made) and ``detail`` (the role, the reason).
staff_changed = Signal()

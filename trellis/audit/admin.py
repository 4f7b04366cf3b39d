# Audit events have no admin: the clinic's audit report is the only way to read them, and
# nothing offers to change or delete them.

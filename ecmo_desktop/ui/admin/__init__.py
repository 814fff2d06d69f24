"""The administration page: staff, ECMO privileges, expert group, training, audit trail."""

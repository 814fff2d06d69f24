"""Use cases: one public method per thing a user does; permissions, rules, audit, transactions."""

"""Repositories: all SQL lives here. Built from a session; they flush but never commit."""

"""Vocabulary and rules of the ward: no Qt, no database."""

"""Answers to the owner's questions (insights), from the database."""

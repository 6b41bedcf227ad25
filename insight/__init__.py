"""Insight: what customers talk about.

Export conversations and tickets, turn historical consultations into candidate training data,
count words, extract keywords and topics, and write an HTML report for the support team.
Run ``python -m insight --help``.
"""

"""zhiyin's core: paths, settings, text helpers, the database and its services, process supervision.

Everything above it (actions, channels, the voice channel, insight, tools) imports from here;
nothing here imports those adapters (tests/test_architecture.py holds the rules).
"""

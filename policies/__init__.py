"""Custom Rasa graph components for zhiyin's dialogue management."""

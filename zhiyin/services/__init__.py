"""Business logic behind the actions: plain functions over a SQLAlchemy session, no Rasa types."""

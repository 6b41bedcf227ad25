"""zhiyin's Rasa input channels (registered by class path in credentials.yml)."""

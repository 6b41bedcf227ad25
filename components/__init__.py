"""zhiyin's custom Rasa components (referenced by module path in config.yml)."""

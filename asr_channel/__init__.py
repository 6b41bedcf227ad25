"""Voice input for zhiyin: Whisper speech recognition behind a Rasa input channel."""

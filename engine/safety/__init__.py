"""Safety: consent for real people in conditioning media."""

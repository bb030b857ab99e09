"""The bridge's features, one per module, each with start and stop."""

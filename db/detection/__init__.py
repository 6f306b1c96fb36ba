"""Detection: series from stored values, change points, alerts with their triage state."""

"""The Dagster layer: assets by role, checks, automation, sensors and resources."""

"""The dynamic partition set: one partition per ISBN, added by ingest, never deleted."""

import dagster as dg

__all__ = ["ISBN_PARTITIONS_NAME", "isbn_partitions"]

ISBN_PARTITIONS_NAME = "isbn"
isbn_partitions = dg.DynamicPartitionsDefinition(name=ISBN_PARTITIONS_NAME)

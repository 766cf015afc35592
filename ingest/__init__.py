"""Ingest: the event contract, pseudonymisation, importers, Kafka and HTTP ingest, the store."""

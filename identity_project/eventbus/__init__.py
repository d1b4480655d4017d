"""The event machinery shared by all apps: catalog, envelope, outbox, relay, consumers; it knows no domain."""

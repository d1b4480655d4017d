"""The audit app's writes: ingestion into the chains, exports, retention."""

"""Walking, batching and the Parquet store."""

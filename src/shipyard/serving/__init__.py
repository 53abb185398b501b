"""The data plane: loading versions, routing traffic, batching and logging predictions; no SQL."""

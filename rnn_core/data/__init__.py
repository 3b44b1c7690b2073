"""The data: the dataset registry and its loaders (synthetic, long-memory tasks, offline series, Yahoo
Finance, CSV uploads, text), the windows a model trains on, and their codec for worker pipes."""

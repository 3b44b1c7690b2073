"""The networks: the cell registry, the trainable models, the exact gradient probe, losses, tasks,
optimisers and the trainer."""

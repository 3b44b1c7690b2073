"""The networks: the cell registry (one file per cell, `cells/`), the models built from them, the exact
gradient probe, the losses and tasks, the optimisers, and the trainer as an iterator of records."""

"""The networks: the cells and their written-out equations, the models built from them, the exact
gradient probe, the losses and tasks, the optimisers, and the trainer as an iterator of records."""

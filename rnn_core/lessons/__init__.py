"""The lessons: the Playground's presets, the Gradient Lab, Compare's races, and the from-scratch NumPy
RNN with the tutorial's own update beside it."""

"""What the lecture notebooks import: activations, figures and widgets. Runs in the lecture kernels."""

"""Developer tools: the catalogue of submissions, the demo class, the benchmark and the static site."""

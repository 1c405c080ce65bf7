"""Model bundles (weights, config, reference LTAS, card) and published-checkpoint import."""

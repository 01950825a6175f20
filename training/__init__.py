"""Training-side tooling for dispo: corpus building, data conversion and model training."""

"""The Diff-V2M model stack: conditioners, rhythm predictor, hierarchical DiT, Oobleck VAE, samplers."""

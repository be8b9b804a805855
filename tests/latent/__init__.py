"""Tests of lcurve.latent."""

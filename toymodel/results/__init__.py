"""Precomputed results shipped with the package (loaded by toymodel.experiments, e.g. load_feature_geometry)."""

__all__: list[str] = []

"""Unit constants declared once (the float nodata lives in config/layers.yaml: layerspec)."""

GT = 1e9  # tonnes per gigatonne
MT = 1e6  # tonnes per megatonne

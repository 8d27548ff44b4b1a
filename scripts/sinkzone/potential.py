"""The potential of a measure on an area: the one formula used by allocation (per cell, float32
rasters), aggregation (per region, float64 from the exact integer counts) and explain (one cell).

    potential (t CO2/yr) = allocated area (ha) x stack weight x rate (t CO2/ha/yr)

`rate` is the catalog's rate in t CO2/ha/yr times its `additional_share` (or the non-additional
part of the gross rate for the existing sink); the stack weight is stack_factor ** stack_pos
(1 for a measure on its own land). Callers keep their own dtype: the function only multiplies,
in this order, so the three agree to the last bit for the default stack_factor 0.5 (a power of
two: multiplying by it is exact in any order).
"""

from __future__ import annotations


def potential(allocated_ha, rate, stack_weight=1.0):
    """t CO2/yr of `allocated_ha` hectares at `rate` t CO2/ha/yr with a stack weight; scalars or
    numpy arrays (the result has the callers' dtype)."""
    return allocated_ha * stack_weight * rate

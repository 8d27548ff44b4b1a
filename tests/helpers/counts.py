"""Lookup tables and random tile counts shared by the aggregation and output-table tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sinkzone import aggregate as agg

ECOSYSTEMS = """id,name,name_zh,name_en,color,description
1,forest,森林,Forest,#1b7837,trees
3,grassland,草地,Grassland,#fee08b,grass
4,cropland,农田,Cropland,#f46d43,crops
"""
CATALOG = """id,ecosystem,name_zh,name_en,group,land_use,rate_low,rate_central,rate_high,rate_unit,rate_is_estimate
afforestation,forest,造林,Afforestation,forest_conv,conversion,2,5,10,t CO2/ha/yr,false
straw_return,cropland,秸秆还田,Straw return,crop_res,management,1,2,3,t CO2/ha/yr,false
no_tillage,cropland,免耕,No-tillage,crop_till,management,0.5,1,1.5,t C/ha/yr,true
grass_enclosure,grassland,草地封育,Grassland enclosure,grass,management,0.1,0.2,0.3,t CO2/ha/yr,false
"""
REGIONS = """level,code,parent_code,name_zh,name_en
province,110000,0,北京市,Beijing
province,120000,0,天津市,Tianjin
county,110101,110000,东城区,Dongcheng
county,110102,110000,西城区,Xicheng
county,120101,120000,和平区,Heping
"""
ZONES = [
    {"id": "za", "name_en": "Zone A", "name_zh": "甲区"},
    {"id": "zb", "name_en": "Zone B", "name_zh": "乙区"},
    {"id": "zc", "name_en": "Zone C", "name_zh": "丙区"},
]
COUNTY_PROV = {110101: 110000, 110102: 110000, 120101: 120000}
MEASURE_ECO = {"afforestation": 1, "straw_return": 4, "no_tillage": 4}


def synthetic_counts(seed=0, n=400) -> pd.DataFrame:
    """Random counts with realistic magnitudes (units up to ~1e14, i.e. 1e7 ha)."""
    rng = np.random.default_rng(seed)
    counties = rng.choice(list(COUNTY_PROV), n)
    measures = rng.choice(list(MEASURE_ECO), n)
    elig = rng.integers(1, 10**14, n, dtype=np.int64)
    df = pd.DataFrame(
        {
            "province": [COUNTY_PROV[c] for c in counties],
            "county": counties,
            "zones": rng.integers(0, 8, n),
            "ecosystem": [MEASURE_ECO[m] for m in measures],
            "measure_id": measures,
            "stack_pos": rng.integers(0, 3, n),
            "eligible_units": elig,
            "allocated_units": (elig * rng.uniform(0, 1, n)).astype(np.int64),
        }
    )
    return (
        agg._reduce([], agg.COUNT_KEYS, agg.COUNT_VALUES)
        .pipe(lambda empty: pd.concat([empty, df]).astype(empty.dtypes.to_dict()))
        .groupby(agg.COUNT_KEYS, as_index=False)
        .sum()
    )

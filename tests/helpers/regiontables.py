"""A tiny catalog and region table (potentials = ha x rate), shared by the uncertainty,
time-path, cost and scenario tests."""

from __future__ import annotations

import pandas as pd

# A tiny catalog: a forest conversion, a soil measure with symmetric rates, a measure with a zero
# central rate, and an annual-flux mariculture measure.
CATALOG = """id,ecosystem,name_zh,name_en,group,land_use,tags,rate_low,rate_central,rate_high,rate_unit,rate_source,rate_is_estimate,saturation_years,cost_establish_cny_ha,cost_annual_cny_ha,cost_source,cost_is_estimate,notes
afforestation,forest,造林,Afforestation,open_land_creation,conversion,tree_planting,2,5,8,t CO2/ha/yr,test,true,50,15000,150,test,true,
no_tillage,cropland,免耕,No-tillage,tillage,management,,0.5,1,1.5,t CO2/ha/yr,test,true,20,0,100,test,true,
coral_reef_rebuilding,coastal,珊瑚礁,Coral reefs,reef_restoration,management,marine,-0.5,0,0.5,t CO2/ha/yr,test,true,100,1000,10,test,true,
shellfish_farming,coastal,贝类,Shellfish,mariculture,management,marine,0,3,9,t CO2/ha/yr,test,true,100,3000,3000,test,true,
"""


# county -> (province, zone ids, {measure: allocated ha})
COUNTIES = {
    "110101": ("110000", ["z1"], {"afforestation": 1000.0, "no_tillage": 4000.0}),
    "110102": ("110000", [], {"afforestation": 2000.0, "coral_reef_rebuilding": 100.0}),
    "120101": ("120000", ["z1"], {"no_tillage": 6000.0, "shellfish_farming": 50.0}),
}
ECO = {
    "afforestation": "forest",
    "no_tillage": "cropland",
    "coral_reef_rebuilding": "coastal",
    "shellfish_farming": "coastal",
}


def make_table(counties=None, catalog_text=CATALOG) -> pd.DataFrame:
    """A region table (nation, province, county, zone rows) with potentials = ha x rate."""
    counties = COUNTIES if counties is None else counties
    from io import StringIO

    cat = pd.read_csv(StringIO(catalog_text)).set_index("id")
    rows = []
    for county, (prov, zones, measures) in counties.items():
        for m, ha in measures.items():
            keys = [
                ("nation", "100000", "China"),
                ("province", prov, f"P{prov}"),
                ("county", county, f"C{county}"),
            ] + [("zone", z, f"Zone {z}") for z in zones]
            for lvl, code, name in keys:
                rows.append(
                    {
                        "region_level": lvl,
                        "region_code": code,
                        "region_name": name,
                        "name_en": name,
                        "name_zh": name,
                        "ecosystem": ECO[m],
                        "measure_id": m,
                        "eligible_area_ha": ha,
                        "allocated_area_ha": ha,
                        **{
                            f"potential_{b}_tco2_yr": ha * cat.loc[m, f"rate_{b}"]
                            for b in ("low", "central", "high")
                        },
                        **{
                            f"technical_potential_{b}_tco2_yr": ha * cat.loc[m, f"rate_{b}"]
                            for b in ("low", "central", "high")
                        },
                        "zones_source": "approximate" if lvl == "zone" else "",
                    }
                )
    df = pd.DataFrame(rows)
    keys = [
        c
        for c in df.columns
        if not c.startswith(("eligible", "allocated", "potential", "technical"))
    ]
    df = df.groupby(keys, sort=False, as_index=False).sum()
    lvl = {"nation": 0, "province": 1, "county": 2, "zone": 3}
    df["_l"] = df["region_level"].map(lvl)
    return (
        df.sort_values(["_l", "region_code"], kind="mergesort")
        .drop(columns="_l")
        .reset_index(drop=True)
    )

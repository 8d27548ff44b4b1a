"""A tiny technology catalog (CSV text and writer) shared by the rule, tile and catalog tests."""

from __future__ import annotations

HEADER = (
    "id,ecosystem,rank,name_zh,name_en,carbon_sink_effect,technology_maturity,"
    "environmental_fitness,social_adaptability,current_scale,assessment_difficulty,"
    "comprehensive_index,ipcc_accepted,group,land_use,tags,rate_low,rate_central,rate_high,"
    "rate_unit,rate_source,rate_is_estimate,saturation_years,cost_establish_cny_ha,"
    "cost_annual_cny_ha,cost_source,cost_is_estimate,notes"
)


# Small synthetic catalog (rates are test numbers, not literature values).
ROWS = [
    "afforestation,forest,1,造林再造林,Afforestation,3,3,2,2,3,1,3,true,forest_land,conversion,"
    "tree_planting,2,4,6,t CO2/ha/yr,test fixture,true,40,,,,false,",
    "farmland_to_forest,forest,2,退耕还林,Farmland to forest,3,2,3,2,2,1,3,true,forest_land,"
    "conversion,tree_planting,1,3,5,t CO2/ha/yr,test fixture,true,40,,,,false,",
    "natural_forest_protection,forest,3,天然林保护,Natural forest protection,2,3,3,2,2,1,3,"
    "false,forest_protect,management,protection,0.5,1,1.5,t CO2/ha/yr,test fixture,true,,,,,"
    "false,",
    "forest_tending,forest,4,森林抚育,Forest tending,2,2,2,3,2,2,2,false,forest_mgmt,"
    "management,,1,2,3,t C/ha/yr,test fixture,true,,1000,100,test costs,true,",
    "straw_return,cropland,1,秸秆还田,Straw return,3,3,3,2,1,1,3,true,crop_residue,management,"
    ",0.5,1,2,t CO2/ha/yr,test fixture,true,,,,,false,",
    "no_tillage,cropland,4,免耕,No tillage,2,2,2,2,1,2,2,true,crop_tillage,management,,0.2,0.4,"
    "0.8,t CO2/ha/yr,test fixture,true,,,,,false,",
    "wetland_conservation,wetland,1,湿地保育,Wetland conservation,3,3,3,2,3,2,3,false,"
    "wetland_protect,management,protection,1,2,3,t CO2/ha/yr,test fixture,true,,,,,false,",
    "coastal_vegetation,coastal,1,湿地植被恢复,Coastal wetland vegetation restoration,3,3,2,3,1,1,"
    "3,false,coastal,conversion,,3,5,8,t CO2/ha/yr,test fixture,true,,,,,false,",
    "shellfish_farming,coastal,2,贝类养殖,Shellfish farming,3,3,2,3,3,2,3,true,marine,management,"
    "marine,,,,,,false,,,,,false,not on land",
]
CATALOG_CSV = HEADER + "\n" + "\n".join(ROWS) + "\n"


def write_catalog(tmp_path, rows=None, header=HEADER):
    p = tmp_path / "technologies.csv"
    p.write_text(header + "\n" + "\n".join(ROWS if rows is None else rows) + "\n", encoding="utf-8")
    return p

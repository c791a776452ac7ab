"""The one entity: a stock, keyed by its Wind code (e.g. 600000.SH)."""

from feast import Entity, ValueType

stock = Entity(
    name="stock",
    join_keys=["stock_id"],
    value_type=ValueType.STRING,
    description="An A-share stock, keyed by its Wind code (S_INFO_WINDCODE), e.g. 600000.SH.",
)

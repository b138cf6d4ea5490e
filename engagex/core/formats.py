"""Numbers in messages people read, grouped the way their language writes them."""

from django.utils.formats import number_format


def number(value: int | float, decimals: int | None = None) -> str:
    """`value` with the active language's grouping and decimal mark: "5,000" in English,
    "5.000" in German and Spanish (where "5,000" reads as five). `decimals` fixes the
    number of decimal places (money: 2); None keeps them as they are."""
    return number_format(value, decimal_pos=decimals, force_grouping=True)

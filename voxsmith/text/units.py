"""Units of measure and currencies, with their Chinese and English spoken forms."""

from __future__ import annotations

import re

# symbol -> (Chinese, English singular, English plural). Compound "a/b" units read "每b a" in Chinese.
UNITS: dict[str, tuple[str, str, str]] = {
    "km/h": ("公里", "kilometer per hour", "kilometers per hour"),
    "m/s": ("米", "meter per second", "meters per second"),
    "mph": ("英里每小时", "mile per hour", "miles per hour"),
    "km²": ("平方公里", "square kilometer", "square kilometers"),
    "m²": ("平方米", "square meter", "square meters"),
    "㎡": ("平方米", "square meter", "square meters"),
    "m³": ("立方米", "cubic meter", "cubic meters"),
    "km": ("公里", "kilometer", "kilometers"),
    "cm": ("厘米", "centimeter", "centimeters"),
    "mm": ("毫米", "millimeter", "millimeters"),
    "nm": ("纳米", "nanometer", "nanometers"),
    "kg": ("公斤", "kilogram", "kilograms"),
    "mg": ("毫克", "milligram", "milligrams"),
    "ml": ("毫升", "milliliter", "milliliters"),
    "mL": ("毫升", "milliliter", "milliliters"),
    "kWh": ("千瓦时", "kilowatt hour", "kilowatt hours"),
    "kW": ("千瓦", "kilowatt", "kilowatts"),
    "mAh": ("毫安时", "milliamp hour", "milliamp hours"),
    "GHz": ("吉赫兹", "gigahertz", "gigahertz"),
    "MHz": ("兆赫兹", "megahertz", "megahertz"),
    "kHz": ("千赫兹", "kilohertz", "kilohertz"),
    "Hz": ("赫兹", "hertz", "hertz"),
    "TB": ("TB", "terabyte", "terabytes"),
    "GB": ("GB", "gigabyte", "gigabytes"),
    "MB": ("MB", "megabyte", "megabytes"),
    "KB": ("KB", "kilobyte", "kilobytes"),
    "ms": ("毫秒", "millisecond", "milliseconds"),
    "min": ("分钟", "minute", "minutes"),
    "℃": ("摄氏度", "degree Celsius", "degrees Celsius"),
    "°C": ("摄氏度", "degree Celsius", "degrees Celsius"),
    "°F": ("华氏度", "degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("度", "degree", "degrees"),
    "kg/m³": ("公斤每立方米", "kilogram per cubic meter", "kilograms per cubic meter"),
    "lbs": ("磅", "pound", "pounds"),
    "lb": ("磅", "pound", "pounds"),
    "oz": ("盎司", "ounce", "ounces"),
    "ft": ("英尺", "foot", "feet"),
    "mi": ("英里", "mile", "miles"),
    # Single letters are units only when glued to the number (3.2g, 5m) - see UNIT_PATTERN.
    "m": ("米", "meter", "meters"),
    "g": ("克", "gram", "grams"),
    "t": ("吨", "ton", "tons"),
    "L": ("升", "liter", "liters"),
    "l": ("升", "liter", "liters"),
    "h": ("小时", "hour", "hours"),
    "s": ("秒", "second", "seconds"),
    "W": ("瓦", "watt", "watts"),
    "V": ("伏", "volt", "volts"),
}
_PER_ZH = {"km/h": "每小时", "m/s": "每秒"}
_SINGLE = {u for u in UNITS if len(u) == 1 and u.isalpha()}

# Longest first; letter units must not run into more letters (5min, not 5 minutes -> "5mins").
UNIT_PATTERN = "|".join(
    (re.escape(u) if u in _SINGLE else r"\s?" + re.escape(u) if u[0].isalpha() else r"\s?" + re.escape(u))
    + (r"(?![A-Za-z0-9])" if u[-1].isalpha() else "")
    for u in sorted(UNITS, key=len, reverse=True)
)
# The space before the unit is inside each alternative so that "5 m" (a letter after a space) is
# not a unit, while "5 km" and "5 ℃" are.
UNIT_PATTERN = f"(?:{UNIT_PATTERN})"

# currency sign -> (Chinese unit, English singular, English plural, cent singular, cent plural);
# an empty cent word means amounts are read as decimals (3.5 yuan).
CURRENCY: dict[str, tuple[str, str, str, str, str]] = {
    "¥": ("元", "yuan", "yuan", "", ""),
    "$": ("美元", "dollar", "dollars", "cent", "cents"),
    "€": ("欧元", "euro", "euros", "cent", "cents"),
    "£": ("英镑", "pound", "pounds", "penny", "pence"),
}


def unit_words(unit: str, number: str) -> tuple[str, str, str]:
    """(Chinese unit, English unit agreeing with ``number``, Chinese 每-prefix or "")."""
    unit = unit.strip()
    zh, one, many = UNITS[unit]
    return zh, one if number in ("1", "1.0") else many, _PER_ZH.get(unit, "")

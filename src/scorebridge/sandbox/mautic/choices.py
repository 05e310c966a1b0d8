"""The choice lists behind Mautic 5's typed contact fields (data only).

- countries: ``CoreBundle/Assets/json/countries.json`` as ``FormFieldHelper::getCountryChoices``
  offers it (names, not ISO codes; note "Unknown", "Tahiti", "Yugoslavia");
- regions: ``CoreBundle/Assets/json/regions.json`` grouped by country. Only the countries below
  are carried (Mautic's file holds about 200); a region of another country is refused here where
  Mautic would accept it;
- timezones: PHP's ``DateTimeZone::listIdentifiers()`` (``FormFieldHelper::getTimezonesChoices``),
  approximated by the IANA zones of the ten PHP regions plus ``UTC``;
- locales: Symfony Intl ``Locales::getNames()`` keys (``FormFieldHelper::getLocaleChoices``),
  approximated by the ICU id shape ``ll``, ``ll_CC``, ``ll_Ssss_CC``.
"""

from __future__ import annotations

import re
import zoneinfo

# fmt: off
COUNTRIES: frozenset[str] = frozenset((
    "Afghanistan", "Åland Islands", "Albania", "Algeria", "Andorra", "Angola", "Anguilla",
    "Antarctica", "Antigua and Barbuda", "Argentina", "Armenia", "Aruba", "Australia", "Austria",
    "Azerbaijan", "Bahamas", "Bahrain", "Bangladesh", "Barbados", "Belarus", "Belgium", "Belize",
    "Benin", "Bermuda", "Bhutan", "Bolivia", "Bonaire, Saint Eustatius and Saba",
    "Bosnia and Herzegovina", "Botswana", "Bouvet Island", "Brazil", "Brunei", "Bulgaria",
    "Burkina Faso", "Burundi", "Cape Verde", "Cambodia", "Cameroon", "Canada", "Cayman Islands",
    "Central African Republic", "Chad", "Chile", "China", "Colombia", "Comoros", "Cook Islands",
    "Costa Rica", "Croatia", "Cuba", "Cyprus", "Czech Republic", "Denmark", "Djibouti",
    "Dominica", "Dominican Republic", "Democratic Republic of the Congo", "East Timor", "Ecuador",
    "Egypt", "El Salvador", "Equatorial Guinea", "Eritrea", "Estonia", "Ethiopia",
    "Falkland Islands", "Fiji", "Finland", "France", "French Guiana", "French Polynesia", "Gabon",
    "Gambia", "Georgia", "Germany", "Ghana", "Gibraltar", "Greece", "Greenland", "Grenada",
    "Guadeloupe", "Guam", "Guatemala", "Guernsey", "Guinea", "Guinea Bissau", "Guyana", "Haiti",
    "Heard Island and McDonald Islands", "Holy See", "Honduras", "Hong Kong", "Hungary",
    "Iceland", "India", "Indonesia", "Iran", "Iraq", "Ireland", "Israel", "Italy", "Jamaica",
    "Japan", "Jersey", "Jordan", "Kazakhstan", "Kenya", "Kiribati", "Kuwait", "Kyrgyzstan",
    "Laos", "Latvia", "Lebanon", "Lesotho", "Liberia", "Libya", "Liechtenstein", "Lithuania",
    "Luxembourg", "Macao", "Macedonia", "Madagascar", "Malawi", "Malaysia", "Maldives", "Mali",
    "Malta", "Marshall Islands", "Martinique", "Mauritania", "Mauritius", "Mayotte", "Mexico",
    "Micronesia", "Moldova", "Monaco", "Mongolia", "Montenegro", "Montserrat", "Morocco",
    "Mozambique", "Myanmar", "Namibia", "Nauru", "Nepal", "Netherlands", "New Caledonia",
    "New Zealand", "Nicaragua", "Niger", "Nigeria", "Niue", "North Korea",
    "Northern Mariana Islands", "Norway", "Oman", "Pakistan", "Palau", "Palestine", "Panama",
    "Papua New Guinea", "Paraguay", "Peru", "Philippines", "Pitcairn", "Poland", "Portugal",
    "Puerto Rico", "Qatar", "Republic of the Congo", "Réunion", "Romania", "Russia", "Rwanda",
    "Saint Barthelemy", "Saint Helena, Ascension and Tristan da Cunha", "Saint Kitts and Nevis",
    "Saint Lucia", "Saint Martin", "Saint Pierre and Miquelon",
    "Saint Vincent and the Grenadines", "Samoa", "San Marino", "Sao Tome and Principe",
    "Saudi Arabia", "Senegal", "Serbia", "Seychelles", "Sierra Leone", "Singapore", "Slovakia",
    "Slovenia", "Solomon Islands", "Somalia", "South Africa",
    "South Georgia and the South Sandwich Islands", "South Korea", "South Sudan", "Spain",
    "Sri Lanka", "Svalbard and Jan Mayen", "Sudan", "Suriname", "Swaziland", "Sweden",
    "Switzerland", "Syria", "Tahiti", "Taiwan", "Tajikistan", "Tanzania", "Thailand", "Togo",
    "Tokelau", "Tonga", "Trinidad and Tobago", "Tunisia", "Turkey", "Turkmenistan",
    "Turks and Caicos Islands", "Tuvalu", "United Kingdom", "United States", "Unknown", "Uganda",
    "Ukraine", "United Arab Emirates", "Uruguay", "Uzbekistan", "Vanuatu", "Venezuela",
    "Vietnam", "Virgin Islands (British)", "Virgin Islands (U.S.)", "Wallis and Futuna",
    "Western Sahara", "Yemen", "Yugoslavia", "Zambia", "Zimbabwe",
))

REGIONS: dict[str, tuple[str, ...]] = {
    "United States": (
        "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut",
        "Delaware", "Florida", "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa",
        "Kansas", "Kentucky", "Louisiana", "Maine", "Maryland", "Massachusetts", "Michigan",
        "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska", "Nevada", "New Hampshire",
        "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
        "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota",
        "Tennessee", "Texas", "Utah", "Vermont", "Virginia", "Washington", "West Virginia",
        "Wisconsin", "Wyoming", "District of Columbia", "American Samoa", "Guam",
        "Northern Mariana Islands", "Puerto Rico", "Virgin Islands",
        "United States Minor Outlying Islands", "Armed Forces Europe", "Armed Forces Americas",
        "Armed Forces Pacific",
    ),
    "Canada": (
        "Alberta", "British Columbia", "Manitoba", "New Brunswick", "Newfoundland and Labrador",
        "Northwest Territories", "Nova Scotia", "Nunavut", "Ontario", "Prince Edward Island",
        "Quebec", "Saskatchewan", "Yukon Territory",
    ),
    "Austria": (
        "Burgenland", "Kärnten", "Niederösterreich", "Oberösterreich", "Salzburg", "Steiermark",
        "Tirol", "Vorarlberg", "Wien",
    ),
    "Belgium": (
        "Antwerpen", "Brabant Wallon", "Hainaut", "Liege", "Luxembourg", "Namur",
        "Oost-Vlaanderen", "Vlaams-Brabant", "West-Vlaanderen", "Brussels",
    ),
    "Netherlands": (
        "Limburg", "Drente", "Flevoland", "Friesland", "Gelderland", "Groningen", "Noord-Brabant",
        "Noord-Holland", "Overijssel", "Utrecht", "Zuid-Holland", "Zeeland",
    ),
    "Switzerland": (
        "Aargau", "Appenzell Innerrhoden", "Appenzell Ausserrhoden", "Bern", "Basel-Landschaft",
        "Basel-Stadt", "Fribourg", "Genève", "Glarus", "Graubünden", "Jura", "Luzern",
        "Neuchâtel", "Nidwalden", "Obwalden", "St. Gallen", "Schaffhausen", "Solothurn", "Schwyz",
        "Thurgau", "Ticino", "Uri", "Vaud", "Valais", "Zug", "Zürich",
    ),
}
# fmt: on

_PHP_ZONE_REGIONS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe",
     "Indian", "Pacific"}
)  # fmt: skip
_LOCALE = re.compile(r"[a-z]{2,3}(_[A-Z][a-z]{3})?(_([A-Z]{2}|\d{3}))?")


def _timezones() -> frozenset[str]:
    zones = {z for z in zoneinfo.available_timezones() if z.split("/", 1)[0] in _PHP_ZONE_REGIONS}
    return frozenset(zones | {"UTC"})


REGION_NAMES: frozenset[str] = frozenset(r for regions in REGIONS.values() for r in regions)
TIMEZONES: frozenset[str] = _timezones()


def is_locale(value: str) -> bool:
    """Whether ``value`` has the shape of an ICU locale id (``en``, ``de_AT``, ``sr_Latn_RS``)."""
    return bool(_LOCALE.fullmatch(value))

"""Fixed pools the seed generator draws from: countries, names, cities, companies, positions.

Data only: no randomness and no logic lives here (the generator in :mod:`scorebridge.sandbox.seed`
decides how to combine the pools). The target region of the imaginary vendor "Nordlicht
Analytics" is the Nordics plus Hungary; the other countries are the "outside the target region"
leads that fit rules push down. Domains use real-looking country TLDs; the sandbox never sends
mail or resolves them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Locale:
    """What a country contributes: names, cities, phone numbering and company naming."""

    country: str
    weight: float  # share of companies and persons
    calling_code: str
    phone_digits: int
    tld: str
    legal_forms: tuple[str, ...]
    cities: tuple[str, ...]  # most likely first
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    company_roots: tuple[str, ...]


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_NO_FIRST = _w(
    "Ole Kari Lars Ingrid Per Silje Jonas Nora Henrik Marte Erik Ida Sindre Hanne Anders"
)
_NO_LAST = _w(
    "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Solberg Haugen Bakke"
)
_SE_FIRST = _w(
    "Erik Anna Lars Karin Johan Maria Anders Sara Mikael Elin Oskar Frida Nils Emma Gustav"
)
_SE_LAST = _w(
    "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Lindqvist"
)
_DK_FIRST = _w("Mette Søren Jens Anne Rasmus Camilla Mads Louise Frederik Sofie Niels Line Kasper")
_DK_LAST = _w(
    "Jensen Nielsen Hansen Pedersen Andersen Christensen Larsen Sørensen Rasmussen Møller"
)
_FI_FIRST = _w("Aino Juha Mikko Laura Antti Johanna Timo Sanna Ville Noora Jukka Eveliina Teemu")
_FI_LAST = _w(
    "Virtanen Korhonen Mäkinen Nieminen Mäkelä Hämäläinen Laine Heikkinen Koskinen Järvinen"
)
_IS_FIRST = _w("Guðrún Jón Sigríður Einar Anna Ólafur Kristín Gunnar Helga Sigurður")
_IS_LAST = _w("Jónsson Sigurðsson Guðmundsdóttir Einarsdóttir Ólafsson Kristjánsson Magnúsdóttir")
_HU_FIRST = _w(
    "Zsófia Bence Gábor Eszter László Katalin Péter Anna Balázs Réka Tamás Dóra Ádám Zoltán"
)
_HU_LAST = _w(
    "Nagy Kovács Tóth Szabó Horváth Varga Kiss Molnár Németh Farkas Balogh Papp Takács Fekete"
)
_DE_FIRST = _w(
    "Lukas Anna Jonas Lena Felix Julia Maximilian Laura Paul Katharina Tobias Sophie Jürgen"
)
_DE_LAST = _w("Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Krüger")
_EN_FIRST = _w(
    "James Emily Oliver Sophie Thomas Charlotte Daniel Olivia Michael Hannah David Grace"
)
_EN_LAST = _w("Smith Jones Williams Taylor Brown Davies Evans Wilson Johnson Clarke Walker Wright")
_NL_FIRST = _w("Daan Sanne Lars Femke Bram Lotte Thijs Eva Ruben Anouk Joost Maartje")
_NL_LAST = ("de Jong", "Jansen", "de Vries", "van den Berg", "Bakker", "Visser", "Smit", "Mulder")
_PL_FIRST = _w("Piotr Anna Krzysztof Katarzyna Tomasz Magdalena Paweł Agnieszka Michał Joanna")
_PL_LAST = _w("Nowak Kowalski Wiśniewski Wójcik Kamiński Lewandowski Zieliński Szymański")
_FR_FIRST = _w("Camille Lucas Léa Hugo Chloé Louis Manon Julien Inès Antoine")
_FR_LAST = _w("Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau")

LOCALES: tuple[Locale, ...] = (
    Locale(
        "Norway",
        0.25,
        "47",
        8,
        "no",
        ("AS", "ASA"),
        _w("Oslo Bergen Trondheim Stavanger Kristiansand Tromsø Drammen Ålesund"),
        _NO_FIRST,
        _NO_LAST,
        _w(
            "Fjordvik Nordkapp Vestland Bergvik Sølvberg Havbris Polarlys Trollheim Skagerak Lofot "
            "Nordlys Viking Fjellheim Sandnes Hardanger Romsdal Varanger Nordsjø Kystlink Isfjord"
        ),
    ),
    Locale(
        "Hungary",
        0.25,
        "36",
        9,
        "hu",
        ("Kft.", "Zrt."),
        _w("Budapest Debrecen Szeged Győr Pécs Miskolc Kecskemét Székesfehérvár"),
        _HU_FIRST,
        _HU_LAST,
        _w(
            "Dunamenti Tisza Alföld Mátra Balaton Pannon Bakony Hungária Zemplén Villány "
            "Kárpát Duna Hortobágy Tokaj Bükk Mecsek Rába Maros Szamos Kőrös"
        ),
    ),
    Locale(
        "Sweden",
        0.15,
        "46",
        9,
        "se",
        ("AB",),
        _w("Stockholm Göteborg Malmö Uppsala Linköping Västerås Örebro Luleå"),
        _SE_FIRST,
        _SE_LAST,
        _w(
            "Norrland Skogsberg Vänern Kiruna Ekholm Granlund Solvik Bergslagen Fjällbacka "
            "Vättern Dalarna Gotland Sundsvall Halland Öresund"
        ),
    ),
    Locale(
        "Denmark",
        0.08,
        "45",
        8,
        "dk",
        ("A/S", "ApS"),
        _w("København Aarhus Odense Aalborg Esbjerg Vejle Kolding"),
        _DK_FIRST,
        _DK_LAST,
        _w("Kattegat Jylland Limfjord Bornholm Skovby Havnegade Storebælt Vesterhav"),
    ),
    Locale(
        "Finland",
        0.06,
        "358",
        9,
        "fi",
        ("Oy", "Oyj"),
        _w("Helsinki Espoo Tampere Vantaa Oulu Turku Jyväskylä Lahti"),
        _FI_FIRST,
        _FI_LAST,
        _w("Saimaa Lappi Koivu Revontuli Kallio Pohjola Järvi Metsä"),
    ),
    Locale(
        "Iceland",
        0.01,
        "354",
        7,
        "is",
        ("ehf.", "hf."),
        _w("Reykjavík Kópavogur Hafnarfjörður Akureyri"),
        _IS_FIRST,
        _IS_LAST,
        _w("Hekla Vatnajökull Geysir Esja Snæfell"),
    ),
    Locale(
        "Germany",
        0.07,
        "49",
        10,
        "de",
        ("GmbH", "AG"),
        _w("Berlin Hamburg München Stuttgart Köln Frankfurt Dresden Bremen"),
        _DE_FIRST,
        _DE_LAST,
        _w("Rheinwerk Nordstern Elbtal Schwarzwald Hanse Alpen Weserland Bergmann"),
    ),
    Locale(
        "United Kingdom",
        0.04,
        "44",
        10,
        "co.uk",
        ("Ltd", "plc"),
        _w("London Manchester Birmingham Leeds Glasgow Bristol Aberdeen"),
        _EN_FIRST,
        _EN_LAST,
        _w("Northgate Thames Pennine Highland Kingsbridge Redcliffe"),
    ),
    Locale(
        "Netherlands",
        0.03,
        "31",
        9,
        "nl",
        ("B.V.", "N.V."),
        _w("Amsterdam Rotterdam Utrecht Eindhoven Groningen Delft"),
        _NL_FIRST,
        _NL_LAST,
        _w("Polder Maasland Zeewind Delta Dijkstra Oranje"),
    ),
    Locale(
        "Poland",
        0.03,
        "48",
        9,
        "pl",
        ("Sp. z o.o.", "S.A."),
        _w("Warszawa Kraków Gdańsk Wrocław Poznań Łódź"),
        _PL_FIRST,
        _PL_LAST,
        _w("Wisła Bałtyk Tatra Mazowsze Odra Karpaty"),
    ),
    Locale(
        "United States",
        0.02,
        "1",
        10,
        "com",
        ("Inc.", "LLC"),
        _w("Chicago Houston Boston Seattle Denver Pittsburgh"),
        _EN_FIRST,
        _EN_LAST,
        _w("Lakeshore Summit Keystone Pioneer Bluewater Ironwood"),
    ),
    Locale(
        "France",
        0.01,
        "33",
        9,
        "fr",
        ("SAS", "SA"),
        _w("Paris Lyon Toulouse Nantes Lille Grenoble"),
        _FR_FIRST,
        _FR_LAST,
        _w("Rhône Armor Vosges Loire Provence"),
    ),
)

#: The vendor's target region (fit rules of the example rule file use a subset of it).
TARGET_REGION: frozenset[str] = frozenset(
    ("Norway", "Hungary", "Sweden", "Denmark", "Finland", "Iceland")
)

#: Second word of a company name, with the industry it implies.
COMPANY_KINDS: tuple[tuple[str, str], ...] = (
    ("Logistics", "Logistics"),
    ("Freight", "Logistics"),
    ("Shipping", "Maritime"),
    ("Marine", "Maritime"),
    ("Offshore", "Energy"),
    ("Energi", "Energy"),
    ("Power", "Energy"),
    ("Kraft", "Energy"),
    ("Steel", "Manufacturing"),
    ("Metal", "Manufacturing"),
    ("Maskin", "Manufacturing"),
    ("Industries", "Manufacturing"),
    ("Automation", "Manufacturing"),
    ("Plast", "Manufacturing"),
    ("Paper", "Manufacturing"),
    ("Foods", "Food & Beverage"),
    ("Dairy", "Food & Beverage"),
    ("Brewery", "Food & Beverage"),
    ("Retail", "Retail"),
    ("Trading", "Retail"),
    ("Bygg", "Construction"),
    ("Construction", "Construction"),
    ("Medical", "Healthcare"),
    ("Pharma", "Healthcare"),
    ("Software", "Software"),
    ("Digital", "Software"),
    ("Data", "Software"),
    ("Capital", "Finance"),
    ("Insurance", "Finance"),
    ("Telecom", "Telecom"),
    ("Mining", "Mining"),
    ("Consulting", "Professional services"),
    ("Partners", "Professional services"),
    ("Water", "Utilities"),
    ("Rail", "Transport"),
    ("Aviation", "Transport"),
)

#: Industries where predictive maintenance sells (more companies there are in the market).
CORE_INDUSTRIES: frozenset[str] = frozenset(
    ("Manufacturing", "Energy", "Logistics", "Maritime", "Utilities", "Transport", "Mining")
)

#: Competitors of the vendor: (name, domain, country, city). The example rule file
#: (config/scoring.example.toml, fit rule "competitor") lists the same domains.
COMPETITORS: tuple[tuple[str, str, str, str], ...] = (
    ("SensorWise AB", "sensorwise.example", "Sweden", "Stockholm"),
    ("Predicto AS", "predicto.example", "Norway", "Oslo"),
    ("FleetMind Kft.", "fleetmind.example", "Hungary", "Budapest"),
)
COMPETITOR_DOMAINS: frozenset[str] = frozenset(c[1] for c in COMPETITORS)

#: University mail domains of students: (domain, country, city).
UNIVERSITIES: tuple[tuple[str, str, str], ...] = (
    ("stud.ntnu.no", "Norway", "Trondheim"),
    ("student.uu.se", "Sweden", "Uppsala"),
    ("student.elte.hu", "Hungary", "Budapest"),
    ("edu.bme.hu", "Hungary", "Budapest"),
    ("aalto.fi", "Finland", "Espoo"),
    ("student.dtu.dk", "Denmark", "Lyngby"),
)

#: Free-mail domains, most common first, with their weights.
FREEMAIL: tuple[tuple[str, float], ...] = (
    ("gmail.com", 0.55),
    ("outlook.com", 0.25),
    ("hotmail.com", 0.08),
    ("yahoo.com", 0.04),
    ("online.no", 0.03),
    ("freemail.hu", 0.03),
    ("telia.com", 0.02),
)

#: Positions of people who work at a company: (title, seniority weight in the market, share).
#: Seniority > 1 makes being in the market for the product more likely.
POSITIONS: tuple[tuple[str, float, float], ...] = (
    ("CEO", 1.3, 3),
    ("Founder", 1.2, 1.5),
    ("Owner", 1.2, 1.5),
    ("Managing Director", 1.3, 2),
    ("CTO", 1.5, 2),
    ("COO", 1.5, 1.5),
    ("CFO", 0.9, 1),
    ("Director of Operations", 1.6, 2),
    ("Head of Maintenance", 1.8, 2.5),
    ("Head of Data", 1.6, 2),
    ("Head of IT", 1.3, 2),
    ("Head of Operations", 1.6, 2),
    ("Head of Procurement", 1.4, 1.5),
    ("Plant Manager", 1.5, 3),
    ("Maintenance Manager", 1.6, 4),
    ("Operations Manager", 1.2, 4),
    ("IT Manager", 1.0, 3),
    ("Project Manager", 0.9, 4),
    ("Marketing Manager", 0.5, 3),
    ("Purchasing Manager", 1.1, 2),
    ("Reliability Engineer", 1.2, 4),
    ("Engineer", 0.8, 8),
    ("Data Engineer", 0.9, 4),
    ("Software Developer", 0.6, 5),
    ("Analyst", 0.7, 5),
    ("Data Analyst", 0.8, 4),
    ("Technician", 0.6, 4),
    ("Consultant", 0.6, 3),
    ("Sales Representative", 0.3, 3),
    ("Assistant", 0.3, 2),
)

#: The six sales reps: (first name, last name, the countries of their territory).
SALES_REPS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Ingrid", "Solberg", ("Norway", "Iceland")),
    ("Lars", "Eriksson", ("Sweden",)),
    ("Mette", "Kjær", ("Denmark",)),
    ("Aino", "Virtanen", ("Finland",)),
    ("Zsófia", "Kovács", ("Hungary",)),
    (
        "Tom",
        "Becker",
        ("Germany", "United Kingdom", "Netherlands", "Poland", "United States", "France"),
    ),
)

VENDOR_DOMAIN = "nordlicht-analytics.example"

#: Mail-client user agents as Mautic records them on an open (``email_stats_devices``/UTM rows).
UA_APPLE_MPP = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
UA_GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
UA_HUMAN: tuple[str, ...] = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Thunderbird/128.4.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.6723.86 Mobile Safari/537.36",
)

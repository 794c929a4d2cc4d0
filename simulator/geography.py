"""Where the synthetic world happens: its destination countries and the origin countries and cities its
migrant workers and recruiters come from."""

from __future__ import annotations

DESTINATION_COUNTRIES = (
    "Aldoria",
    "Beltrana",
    "Corvia",
    "Dunmere",
    "Estovia",
    "Farland",
    "Galmont",
    "Hestia",
    "Iverra",
    "Jorvik",
    "Kestrel",
    "Lunaria",
)
ORIGIN_COUNTRIES = (
    "Philippines",
    "Nepal",
    "Bangladesh",
    "Indonesia",
    "Viet Nam",
    "Myanmar",
    "Cambodia",
    "Guatemala",
    "Honduras",
    "Mexico",
    "Ukraine",
    "Nigeria",
    "India",
    "Ethiopia",
)
ORIGIN_CITIES = (
    "Manila",
    "Kathmandu",
    "Dhaka",
    "Jakarta",
    "Hanoi",
    "Yangon",
    "Phnom Penh",
    "Guatemala City",
    "Tegucigalpa",
    "Mexico City",
    "Kyiv",
    "Lagos",
    "New Delhi",
    "Addis Ababa",
)

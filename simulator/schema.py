"""The synthetic agencies' export format: one declaration per exported file type.

This is the *external* format the simulator writes (what a visa unit, recruiter registry, border
agency, inspectorate, enforcement body and company register would export). The data contracts in
``data_contracts/`` map it onto tracerisk's record types; the simulator's mess (missing values,
malformed rows) is driven by the column kinds declared here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Value sets are declared once, in the contracts: the synthetic agencies export what tracerisk accepts.
from data_contracts.contracts import ILO_INDICATORS

ColumnKind = Literal["id", "text", "category", "date", "datetime", "count", "amount", "flag"]


AGE_BANDS = ("<18", "18-24", "25-34", "35-44", "45-54", "55+")
DECISIONS = ("approved", "refused", "withdrawn", "pending")
TRIGGERS = ("random", "complaint", "targeted", "follow_up")
INSPECTION_OUTCOMES = ("none", "administrative", "forced_labour_referral", "prosecution")


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    required: bool = False  # required columns are never blanked by the missing-value knob


@dataclass(frozen=True)
class ExportTable:
    name: str  # the record type it maps onto
    source: str  # the exporting agency
    id_prefix: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, kind: ColumnKind, required: bool = False) -> Column:
    return Column(name, kind, required)


# Written by the export itself (simulator/mess.py), never blanked or broken: known_on is the last day of the
# batch's quarter, the day the record became available.
_COMMON = (
    _c("record_id", "id", True),
    _c("source", "category", True),
    _c("batch_id", "category", True),
    _c("known_on", "date", True),
)
N_COMMON = len(_COMMON)

EXPORT_TABLES: dict[str, ExportTable] = {
    t.name: t
    for t in (
        ExportTable(
            "organisation",
            "synthetic-company-register",
            "ORG",
            (
                *_COMMON,
                _c("registration_no", "id", True),
                _c("name", "text", True),
                _c("sector", "category", True),
                _c("country", "category", True),
                _c("region", "category", True),
                _c("registered_on", "date", True),
                _c("address", "text"),
                _c("phone", "text"),
                _c("directors", "text"),
                _c("employees", "count"),
                _c("supplies_to", "text"),
            ),
        ),
        ExportTable(
            "recruiter",
            "synthetic-recruiter-registry",
            "REC",
            (
                *_COMMON,
                _c("recruiter_ref", "id", True),
                _c("name", "text", True),
                _c("agency_type", "category", True),
                _c("country", "category", True),
                _c("address", "text"),
                _c("phone", "text"),
                _c("directors", "text"),
                _c("licence_id", "text"),
                _c("licence_status", "category", True),
                _c("licence_valid_from", "date"),
                _c("licence_valid_to", "date"),
                _c("declared_fee_to_workers_usd", "amount"),
                _c("registered_on", "date", True),
                _c("status_since", "date", True),
            ),
        ),
        ExportTable(
            "visa_application",
            "synthetic-visa-unit",
            "VA",
            (
                *_COMMON,
                _c("application_id", "id", True),
                _c("post_id", "category", True),
                _c("desk_officer_id", "id", True),
                _c("visa_class", "category", True),
                _c("applicant_passport_no", "id", True),
                _c("applicant_age_band", "category"),
                _c("applicant_sex", "category"),
                _c("applicant_nationality", "category"),
                _c("sponsor_name", "text"),
                _c("sponsor_registration_no", "text"),
                _c("recruiter_name", "text"),
                _c("recruiter_licence_id", "text"),
                _c("occupation", "category"),
                _c("worksite_country", "category"),
                _c("worksite_region", "category"),
                _c("declared_wage", "amount"),
                _c("wage_unit", "category"),
                _c("submitted_at", "datetime", True),
                _c("decided_at", "datetime"),
                _c("decision", "category", True),
                _c("valid_until", "date"),
                _c("document_check_flag", "flag"),
                _c("expedited", "flag"),
                _c("refusal_overturned", "flag"),
            ),
        ),
        ExportTable(
            "border_crossing",
            "synthetic-border-agency",
            "BC",
            (
                *_COMMON,
                _c("crossing_id", "id", True),
                _c("border_post_id", "category", True),
                _c("lane", "count"),
                _c("shift", "category"),
                _c("officer_badge_no", "id", True),
                _c("crossed_at", "datetime", True),
                _c("direction", "category", True),
                _c("traveller_passport_no", "id", True),
                _c("traveller_age_band", "category"),
                _c("document_type", "category"),
                _c("visa_application_id", "text"),
                _c("document_check_result", "category"),
                _c("companion_passport_no", "text"),
                _c("vehicle_plate", "text"),
                _c("secondary_referral", "flag"),
                _c("outcome", "category", True),
                _c("guardian_present", "flag"),
                _c("destination_address_verified", "flag"),
                _c("document_later_found_fraudulent", "flag"),
                _c("fraud_found_on", "date"),
            ),
        ),
        ExportTable(
            "labour_inspection",
            "synthetic-inspectorate",
            "LI",
            (
                *_COMMON,
                _c("inspection_id", "id", True),
                _c("organisation_registration_no", "id", True),
                _c("worksite_name", "text"),
                _c("worksite_region", "category"),
                _c("inspector_badge_no", "id", True),
                _c("inspected_on", "date", True),
                _c("trigger", "category", True),
                _c("announced", "flag"),
                _c("workers_present", "count"),
                _c("migrant_workers", "count"),
                *(_c(f"finding_{k}", "flag") for k in ILO_INDICATORS),
                _c("wage_arrears_usd", "amount"),
                _c("avg_weekly_hours", "amount"),
                _c("wage_found_hourly_usd", "amount"),
                _c("minors_found", "count"),
                _c("housing_by_employer", "flag"),
                _c("transport_by_employer", "flag"),
                _c("labour_contractor_name", "text"),
                _c("recruitment_fee_reported_usd", "amount"),
                _c("outcome", "category", True),
            ),
        ),
        ExportTable(
            "enforcement_outcome",
            "synthetic-enforcement",
            "EO",
            (
                *_COMMON,
                _c("outcome_id", "id", True),
                _c("entity_type", "category", True),
                _c("entity_ref", "id", True),
                _c("entity_name", "text"),
                _c("decided_on", "date", True),
                _c("kind", "category", True),
                _c("issuing_body", "category"),
            ),
        ),
    )
}

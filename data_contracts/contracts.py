"""What a valid record is: one declaration per record type of ../shared/DESIGN.md.

Everything else is generated from these declarations: the row-level rules that quarantine bad rows
(``data_contracts.rules``), the Great Expectations suites (``data_contracts.gx_suites``), the typed
Arrow schema used to read and store accepted rows (``arrow_schema``) and the docs page per contract
(``data_contracts.docs``). There is no second list of columns anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

import pyarrow as pa

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime"]
# How a person identifier is pseudonymised: the whole value or each ';'-separated name. A column that names a
# person only on some rows (an outcome on an official desk) is declared as a ConditionalPersonRef instead.
PersonId = Literal["whole", "each_name"]

ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "integer": pa.int64(),
    "number": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("s"),
}
# The earliest day any date or datetime field may hold: before it a value is a typing error or an export's
# sentinel ("0001-01-01", "1800-01-01"), never an event of a register, a visa, a crossing or an inspection.
EARLIEST_DATE = date(1900, 1, 1)

VISA_CLASSES = (
    "work",
    "seasonal_agri",
    "domestic_worker",
    "entertainer",
    "tourist",
    "business",
    "student",
    "spouse",
    "other",
)
ILO_INDICATORS = (
    "abuse_of_vulnerability",
    "deception",
    "restriction_of_movement",
    "isolation",
    "physical_sexual_violence",
    "intimidation_threats",
    "retention_of_identity_documents",
    "withholding_of_wages",
    "debt_bondage",
    "abusive_working_living_conditions",
    "excessive_overtime",
)
SECTORS = (
    "agriculture",
    "construction",
    "manufacturing_garment",
    "domestic_work",
    "hospitality_entertainment",
    "fishing",
    "food_processing",
    "other",
)
# What is scored: organisations and official desks, never individual migrants. Organisations are known by
# registry numbers and names; official desks stand for officials, whose officer part of a reference is pseudonymised.
OrganisationType = Literal["employer", "recruiter"]
OfficialDeskType = Literal["visa_desk", "border_post", "inspector"]
EntityType = Literal[OrganisationType, OfficialDeskType]
ENTITY_TYPES: tuple[EntityType, ...] = get_args(EntityType)
ORGANISATION_TYPES: tuple[OrganisationType, ...] = get_args(OrganisationType)
OFFICIAL_DESK_TYPES: tuple[OfficialDeskType, ...] = get_args(OfficialDeskType)
OUTCOME_KINDS = (
    "substantiated_forced_labour",
    "debarment",
    "licence_revocation",
    "integrity_case_substantiated",
    "conviction",
    "complaint",
    "back_wages",
)


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    description: str
    required: bool = False  # the column must be present and the value non-empty
    values: tuple[str, ...] | None = None  # allowed values (case-sensitive, after trimming)
    min: float | None = None  # inclusive bounds for numbers, integers
    max: float | None = None
    max_length: int | None = None  # characters, for strings
    not_in_future: bool = False  # dates / datetimes after the ingest time are rejected
    person_id: PersonId | None = None  # pseudonymised at ingestion; the raw value is never stored
    sensitive: bool = False  # kept for fairness audits only, never a model feature (DESIGN principle 2)
    code: bool = False  # names a post or desk that becomes a scored entity: a placeholder ("n/a") is not a code


@dataclass(frozen=True)
class ConditionalPersonRef:
    """A column that names a person unless ``when_column`` says the row is about an organisation. It fails closed:
    only where ``when_column`` (trimmed) is exactly one of ``kept_for`` is the value stored as it is. Where it is
    one of ``suffix_for`` (references like 'POST:OFFICER'), the part after the last ':' is pseudonymised (the whole
    value when there is no ':'); on every other row (another value, a misspelt or empty one, or no such column)
    the whole value is. A value that already is a pseudonym there (recorded through the service) is kept."""

    column: str
    when_column: str
    kept_for: tuple[str, ...]  # values of when_column whose rows keep the column as it is
    suffix_for: tuple[str, ...] = ()  # values of when_column whose rows hold 'POST:OFFICER' references


@dataclass(frozen=True)
class DateOrder:
    earlier: str
    later: str  # rule: later is not before earlier (when both parse)


@dataclass(frozen=True)
class Reference:
    """column must name an accepted row of record_type.target (else the row is quarantined)."""

    column: str
    record_type: str
    target: str
    when_column: str | None = None  # only checked where when_column has one of when_values
    when_values: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordContract:
    name: str
    description: str
    natural_id: str  # the record type's own identifier column (application_id, crossing_id, ...)
    fields: tuple[Field, ...]
    date_orders: tuple[DateOrder, ...] = ()
    references: tuple[Reference, ...] = ()
    conditional_person_refs: tuple[ConditionalPersonRef, ...] = ()
    entity_note: str = ""
    versioned_by: str | None = None  # rows are dated versions of one natural id, told apart by this column
    unique_natural_id: bool = True  # False: several rows of a batch may share the natural id (rows of one case)
    # Columns a source may add that the contract does not declare, kept as they are in ``extra_fields``. Any other
    # undeclared column is stored there (and in quarantine) as the pseudonym of its value: it may name a person.
    plain_extras: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        clash = set(self.plain_extras) & set(self.columns)
        assert not clash, f"{self.name}: plain extras that are contract columns: {sorted(clash)}"

    @property
    def unique_key(self) -> list[str]:
        """The columns unique within a batch: the natural id, with its version column for a versioned register."""
        return [self.natural_id, *([self.versioned_by] if self.versioned_by else [])]

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    def arrow_schema(self) -> pa.Schema:
        """The typed schema of accepted rows in the lake (plus the lineage columns of ``LINEAGE``)."""
        return pa.schema(
            [pa.field(f.name, ARROW_TYPES[f.type], nullable=not f.required) for f in self.fields]
            + [pa.field(name, typ, nullable=False) for name, typ in LINEAGE]
        )


# Lineage columns added to every accepted and quarantined row.
LINEAGE: tuple[tuple[str, pa.DataType], ...] = (
    ("_batch", pa.string()),  # ledger batch id (content hash of the file and its mapping)
    ("_file", pa.string()),  # source file path as given
    (
        "_line",
        pa.int64(),
    ),  # 1-based line of the row in a CSV file (header = line 1); row number + 1 for Parquet
    ("_ingest_seq", pa.int64()),  # ledger sequence number of the batch: later versions supersede earlier ones
)


def _common(natural_id: str) -> tuple[Field, ...]:
    return (
        Field(
            "record_id",
            "string",
            "Identifier of the record, unique within its source.",
            required=True,
            max_length=64,
        ),
        Field(
            "source",
            "string",
            "The system or agency that exported the record.",
            required=True,
            max_length=128,
        ),
        Field("batch_id", "string", "The exporter's batch or delivery label.", max_length=64),
        Field(natural_id, "string", "The record type's own identifier.", required=True, max_length=64),
        Field(
            "known_on",
            "date",
            "Day the record became available to tracerisk (its export batch's date); a row without it gets the "
            "ingest date (UTC). Features as of a day use only records known before it.",
        ),
    )


# A register row is one version of its entity's entry: the version in force on a day is the one with the
# greatest status_since before it (rows without status_since: one version since registered_on).
_STATUS_SINCE = Field(
    "status_since",
    "date",
    "Day this register version (status, name, licence dates) took effect; one row per version, the same "
    "entity reference on each. Empty: the row is the entry's only version, in force since registered_on.",
)

_FINDINGS = tuple(
    Field(
        f"finding_{k}",
        "boolean",
        f"Inspection found the ILO forced-labour indicator '{k.replace('_', ' ')}'.",
    )
    for k in ILO_INDICATORS
)

CONTRACTS: dict[str, RecordContract] = {
    c.name: c
    for c in (
        RecordContract(
            "organisation",
            "The register of employers and suppliers: who they are, where they operate, who runs them.",
            "registration_no",
            (
                *_common("registration_no"),
                Field("name", "string", "Registered name.", required=True, max_length=300),
                Field("sector", "string", "Sector of activity.", required=True, values=SECTORS),
                Field("country", "string", "Country of operation.", required=True, max_length=100),
                Field("region", "string", "Region of operation within the country.", max_length=100),
                Field("registered_on", "date", "Date of registration.", required=True, not_in_future=True),
                Field("address", "string", "Registered address.", max_length=500),
                Field("phone", "string", "Registered phone number.", max_length=50),
                Field(
                    "directors",
                    "string",
                    "Directors, separated by ';' (pseudonymised per name).",
                    max_length=2_000,
                    person_id="each_name",
                ),
                Field("employees", "integer", "Declared number of employees.", min=0, max=1_000_000),
                Field(
                    "supplies_to",
                    "string",
                    "Who this organisation supplies: a buyer's portfolio id (tier-1 supplier) or the registration "
                    "number of the organisation it sub-contracts for (tier-2 supplier); empty when not mapped.",
                    max_length=64,
                ),
                _STATUS_SINCE,
            ),
            date_orders=(DateOrder("registered_on", "status_since"),),
            entity_note="Scored entity: employer (worksite / supplier).",
            versioned_by="status_since",
        ),
        RecordContract(
            "recruiter",
            "Registry rows of recruitment agencies, labour contractors and travel agencies acting as intermediaries.",
            "recruiter_ref",
            (
                *_common("recruiter_ref"),
                Field("name", "string", "Registered name.", required=True, max_length=300),
                Field(
                    "agency_type",
                    "string",
                    "Kind of intermediary.",
                    required=True,
                    values=(
                        "licensed_agency",
                        "labour_contractor",
                        "travel_agency",
                        "unlicensed_broker",
                        "model_agency",
                        "marriage_agency",
                    ),
                ),
                Field("country", "string", "Country of registration.", max_length=100),
                Field("address", "string", "Registered address.", max_length=500),
                Field("phone", "string", "Registered phone number.", max_length=50),
                Field(
                    "directors",
                    "string",
                    "Directors, separated by ';' (pseudonymised per name).",
                    max_length=2_000,
                    person_id="each_name",
                ),
                Field("licence_id", "string", "Licence number, if any.", max_length=64),
                Field(
                    "licence_status",
                    "string",
                    "Licence status.",
                    required=True,
                    values=("active", "expired", "suspended", "revoked", "none"),
                ),
                Field("licence_valid_from", "date", "Licence start date."),
                Field("licence_valid_to", "date", "Licence end date."),
                Field(
                    "declared_fee_to_workers_usd",
                    "number",
                    "Fee the agency declares it charges workers (USD).",
                    min=0,
                    max=1_000_000,
                ),
                Field("registered_on", "date", "Date of registration.", required=True, not_in_future=True),
                _STATUS_SINCE,
            ),
            date_orders=(
                DateOrder("licence_valid_from", "licence_valid_to"),
                DateOrder("registered_on", "status_since"),
            ),
            entity_note="Scored entity: recruiter.",
            versioned_by="status_since",
        ),
        RecordContract(
            "visa_application",
            "Visa applications as decided by a visa unit: the desk, the sponsor, the intermediary, the decision.",
            "application_id",
            (
                *_common("application_id"),
                Field("post_id", "string", "Visa post.", required=True, max_length=32, code=True),
                Field(
                    "desk_officer_id",
                    "string",
                    "Officer at the desk that decided (pseudonymised).",
                    required=True,
                    max_length=64,
                    person_id="whole",
                ),
                Field("visa_class", "string", "Visa class applied for.", required=True, values=VISA_CLASSES),
                Field(
                    "applicant_id",
                    "string",
                    "Applicant (pseudonymised; never scored).",
                    required=True,
                    max_length=64,
                    person_id="whole",
                ),
                Field(
                    "applicant_age_band",
                    "string",
                    "Applicant age band (fairness audits only).",
                    values=("<18", "18-24", "25-34", "35-44", "45-54", "55+"),
                    sensitive=True,
                ),
                Field(
                    "applicant_sex",
                    "string",
                    "Applicant sex (fairness audits only).",
                    values=("F", "M", "X"),
                    sensitive=True,
                ),
                Field(
                    "applicant_nationality",
                    "string",
                    "Applicant nationality (fairness audits only).",
                    max_length=100,
                    sensitive=True,
                ),
                Field(
                    "sponsor_name",
                    "string",
                    "Sponsoring employer as named on the application.",
                    max_length=300,
                ),
                Field(
                    "sponsor_registration_no",
                    "string",
                    "Sponsor's register number, when given.",
                    max_length=64,
                ),
                Field("recruiter_name", "string", "Recruiter or intermediary as named.", max_length=300),
                Field("recruiter_licence_id", "string", "Recruiter's licence number, when given.", max_length=64),
                Field("occupation", "string", "Declared occupation.", max_length=200),
                Field("worksite_country", "string", "Country of the declared worksite.", max_length=100),
                Field("worksite_region", "string", "Region of the declared worksite.", max_length=100),
                Field("declared_wage", "number", "Declared wage, in wage_unit.", min=0, max=1_000_000),
                Field(
                    "wage_unit",
                    "string",
                    "Unit of the declared wage.",
                    values=("hour", "day", "week", "month", "year"),
                ),
                Field("submitted_at", "datetime", "Submission time.", required=True, not_in_future=True),
                Field("decided_at", "datetime", "Decision time.", not_in_future=True),
                Field(
                    "decision",
                    "string",
                    "Decision.",
                    required=True,
                    values=("approved", "refused", "withdrawn", "pending"),
                ),
                Field("valid_until", "date", "Last day of validity of an issued visa."),
                Field("document_check_flag", "boolean", "Document checks flagged the application."),
                Field("expedited", "boolean", "Processed out of queue."),
                Field("refusal_overturned", "boolean", "A refusal was overturned."),
            ),
            date_orders=(DateOrder("submitted_at", "decided_at"),),
            entity_note="Scored entities: employer (sponsor), recruiter, visa desk (post + desk officer).",
        ),
        RecordContract(
            "labour_certification",
            "Sponsors' petitions for temporary foreign workers as decided by a labour ministry (no visa desk, no "
            "applicant): the employer, its agent or law firm, the jobs, the wage, the decision.",
            "application_id",
            (
                *_common("application_id"),
                Field(
                    "programme",
                    "string",
                    "Work-visa programme petitioned for (e.g. H-2A, H-2B).",
                    required=True,
                    max_length=32,
                ),
                Field(
                    "fiscal_year", "integer", "Fiscal year of the disclosure that lists the case.", min=1900, max=2200
                ),
                Field(
                    "sponsor_name",
                    "string",
                    "Petitioning employer as named on the case.",
                    required=True,
                    max_length=300,
                ),
                Field("sponsor_trade_name", "string", "Trade name the employer does business as.", max_length=300),
                Field("sponsor_city", "string", "City of the employer's address.", max_length=100),
                Field("sponsor_region", "string", "State or region of the employer's address.", max_length=100),
                Field("sponsor_postal_code", "string", "Postal code of the employer's address.", max_length=20),
                Field(
                    "sponsor_category",
                    "string",
                    "How the employer filed (individual employer, association, labour contractor), as worded.",
                    max_length=100,
                ),
                Field("labour_contractor", "boolean", "The employer filed as a labour or job contractor."),
                Field(
                    "agent_name", "string", "Agent or attorney who filed for the employer, as named.", max_length=300
                ),
                Field("agent_city", "string", "City of the agent or attorney.", max_length=100),
                Field("agent_region", "string", "State or region of the agent or attorney.", max_length=100),
                Field("law_firm_name", "string", "Law firm or business of the agent or attorney.", max_length=300),
                Field("occupation", "string", "Job title petitioned for.", max_length=200),
                Field("soc_code", "string", "Standard Occupational Classification code of the job.", max_length=20),
                Field("naics_code", "string", "Industry (NAICS) code of the employer.", max_length=20),
                Field("crop", "string", "Primary crop or activity (agricultural petitions).", max_length=200),
                Field("workers_requested", "integer", "Workers petitioned for.", min=0, max=100_000),
                Field("workers_certified", "integer", "Workers certified.", min=0, max=100_000),
                Field("declared_wage", "number", "Offered wage, in wage_unit.", min=0, max=1_000_000),
                Field(
                    "wage_unit",
                    "string",
                    "Unit of the offered wage.",
                    values=("hour", "day", "week", "two_weeks", "month", "year", "piece"),
                ),
                Field("worksite_city", "string", "City of the (first) worksite.", max_length=100),
                Field("worksite_region", "string", "State or region of the (first) worksite.", max_length=100),
                Field("case_status", "string", "Status of the case as the file words it.", max_length=100),
                Field(
                    "decision",
                    "string",
                    "Decision (partial certifications are approved).",
                    required=True,
                    values=("approved", "refused", "withdrawn", "pending"),
                ),
                Field("submitted_on", "date", "Day the case was received.", not_in_future=True),
                Field("decided_on", "date", "Day of the decision.", not_in_future=True),
            ),
            date_orders=(DateOrder("submitted_on", "decided_on"),),
            entity_note="Scored entities: employer (sponsor), agent / attorney / law firm (as recruiter).",
            unique_natural_id=False,
        ),
        RecordContract(
            "petition_recruiter",
            "Recruiters abroad that a sponsor names on a petition (one row per individual recruiter named): the "
            "recruiting organisation, where it is, and the named person pseudonymised.",
            "application_id",
            (
                *_common("application_id"),
                Field("programme", "string", "Work-visa programme of the petition.", required=True, max_length=32),
                Field("fiscal_year", "integer", "Fiscal year of the list that names it.", min=1900, max=2200),
                Field("recruiter_name", "string", "Recruiting organisation as named.", required=True, max_length=300),
                Field("recruiter_city", "string", "City of the recruiting organisation.", max_length=100),
                Field("recruiter_region", "string", "State or region of the recruiting organisation.", max_length=100),
                Field("recruiter_province", "string", "Province of the recruiting organisation.", max_length=100),
                Field("recruiter_postal_code", "string", "Postal code of the recruiting organisation.", max_length=20),
                Field("recruiter_country", "string", "Country of the recruiting organisation.", max_length=100),
                Field(
                    "staff_last_name",
                    "string",
                    "Family name of the individual recruiter named (pseudonymised after case and spaces are "
                    "folded, so spellings of one name match; never scored).",
                    max_length=200,
                    person_id="each_name",
                ),
                Field(
                    "staff_first_name",
                    "string",
                    "Given name of the individual recruiter named (pseudonymised after case and spaces are "
                    "folded, so spellings of one name match; never scored).",
                    max_length=200,
                    person_id="each_name",
                ),
            ),
            entity_note="Scored entity: recruiter (the organisation); the named individuals only link organisations.",
            unique_natural_id=False,
        ),
        RecordContract(
            "border_crossing",
            "Border crossings as recorded at a border post: officer, shift, document check, companions, vehicles.",
            "crossing_id",
            (
                *_common("crossing_id"),
                Field("border_post_id", "string", "Border post.", required=True, max_length=32, code=True),
                Field("lane", "integer", "Lane.", min=0, max=1_000),
                Field("shift", "string", "Shift.", values=("day", "night")),
                Field(
                    "officer_id",
                    "string",
                    "Officer (pseudonymised).",
                    required=True,
                    max_length=64,
                    person_id="whole",
                ),
                Field("crossed_at", "datetime", "Time of crossing.", required=True, not_in_future=True),
                Field("direction", "string", "Direction.", required=True, values=("in", "out")),
                Field(
                    "traveller_id",
                    "string",
                    "Traveller (pseudonymised; never scored).",
                    required=True,
                    max_length=64,
                    person_id="whole",
                ),
                Field(
                    "traveller_age_band",
                    "string",
                    "Traveller age band (fairness audits only).",
                    values=("<18", "18-24", "25-34", "35-44", "45-54", "55+"),
                    sensitive=True,
                ),
                Field("document_type", "string", "Travel document.", max_length=64),
                Field(
                    "visa_application_id",
                    "string",
                    "Visa application the traveller used, if any.",
                    max_length=64,
                ),
                Field("document_check_result", "string", "Document check.", values=("clear", "flagged")),
                Field(
                    "companion_id",
                    "string",
                    "Accompanying person (pseudonymised).",
                    max_length=64,
                    person_id="whole",
                ),
                Field("vehicle_id", "string", "Vehicle plate.", max_length=32),
                Field("secondary_referral", "boolean", "Referred to secondary inspection."),
                Field("outcome", "string", "Outcome.", required=True, values=("admitted", "refused")),
                Field("guardian_present", "boolean", "For minors: a guardian was present."),
                Field("destination_address_verified", "boolean", "The destination address was verified."),
                Field(
                    "document_later_found_fraudulent",
                    "boolean",
                    "A later review found the document fraudulent.",
                ),
                Field(
                    "fraud_found_on",
                    "date",
                    "Day the review established that the document was fraudulent (empty when not known: the "
                    "finding then counts from the row's known_on).",
                ),
            ),
            date_orders=(DateOrder("crossed_at", "fraud_found_on"),),
            entity_note="Scored entity: border post (post + officer).",
        ),
        RecordContract(
            "labour_inspection",
            "Labour inspections: worksite, inspector, trigger, findings per ILO forced-labour indicator, outcome.",
            "inspection_id",
            (
                *_common("inspection_id"),
                Field(
                    "organisation_registration_no",
                    "string",
                    "Inspected employer's register number.",
                    required=True,
                    max_length=64,
                ),
                Field("worksite_name", "string", "Worksite as named by the inspector.", max_length=300),
                Field("worksite_region", "string", "Region of the worksite.", max_length=100),
                Field(
                    "inspector_id",
                    "string",
                    "Inspector (pseudonymised).",
                    required=True,
                    max_length=64,
                    person_id="whole",
                ),
                Field("inspected_on", "date", "Date of the visit.", required=True, not_in_future=True),
                Field(
                    "trigger",
                    "string",
                    "Why the visit happened.",
                    required=True,
                    values=("random", "complaint", "targeted", "follow_up"),
                ),
                Field("announced", "boolean", "The visit was announced in advance."),
                Field("workers_present", "integer", "Workers present.", min=0, max=1_000_000),
                Field("migrant_workers", "integer", "Migrant workers present.", min=0, max=1_000_000),
                *_FINDINGS,
                Field("wage_arrears_usd", "number", "Wage arrears found (USD).", min=0, max=1e9),
                Field("avg_weekly_hours", "number", "Average weekly hours found.", min=0, max=168),
                Field("wage_found_hourly_usd", "number", "Hourly wage found (USD).", min=0, max=10_000),
                Field("minors_found", "integer", "Minors found working.", min=0, max=100_000),
                Field("housing_by_employer", "boolean", "Workers housed by the employer."),
                Field("transport_by_employer", "boolean", "Workers transported by the employer."),
                Field(
                    "labour_contractor_name",
                    "string",
                    "Labour contractor supplying workers, as named.",
                    max_length=300,
                ),
                Field(
                    "recruitment_fee_reported_usd",
                    "number",
                    "Recruitment fee workers reported paying (USD).",
                    min=0,
                    max=1_000_000,
                ),
                Field(
                    "outcome",
                    "string",
                    "Outcome.",
                    required=True,
                    values=("none", "administrative", "forced_labour_referral", "prosecution"),
                ),
            ),
            references=(Reference("organisation_registration_no", "organisation", "registration_no"),),
            entity_note="Scored entities: employer (worksite), inspector.",
        ),
        RecordContract(
            "enforcement_outcome",
            "The labels: substantiated cases, debarments, licence revocations, integrity cases, convictions, back "
            "wages found owed and complaints on an organisation, recruiter, desk, border post or inspector.",
            "outcome_id",
            (
                *_common("outcome_id"),
                Field(
                    "entity_type",
                    "string",
                    "Kind of entity the outcome is about.",
                    required=True,
                    values=ENTITY_TYPES,
                ),
                Field(
                    "entity_ref",
                    "string",
                    "Register number, licence or 'POST:OFFICER' reference of the entity.",
                    required=True,
                    max_length=128,
                ),
                Field(
                    "entity_name",
                    "string",
                    "Entity as named in the decision (pseudonymised unless the entity is an organisation).",
                    max_length=300,
                ),
                Field("decided_on", "date", "Date of the decision.", required=True, not_in_future=True),
                Field("kind", "string", "Kind of outcome.", required=True, values=OUTCOME_KINDS),
                Field("issuing_body", "string", "Body that decided or received it.", max_length=100),
                Field("amount_usd", "number", "Amount ordered or found owed (USD), e.g. back wages.", min=0, max=1e10),
            ),
            conditional_person_refs=(
                ConditionalPersonRef("entity_ref", "entity_type", ORGANISATION_TYPES, OFFICIAL_DESK_TYPES),
                ConditionalPersonRef("entity_name", "entity_type", ORGANISATION_TYPES),
            ),
            # what an outcome recorded through the service adds (service/outcomes.py)
            plain_extras=("indicators_observed", "exploration", "worklist_id"),
            entity_note="Labels for every scored entity type; complaints are signals, not labels.",
        ),
    )
}

# Ingest order: references point at record types ingested earlier in the same run.
INGEST_ORDER: tuple[str, ...] = (
    "organisation",
    "recruiter",
    "visa_application",
    "labour_certification",
    "petition_recruiter",
    "border_crossing",
    "labour_inspection",
    "enforcement_outcome",
)
assert set(INGEST_ORDER) == set(CONTRACTS)


def compared_by_day(contract: RecordContract, order: DateOrder) -> bool:
    """A date against a datetime is compared by calendar day (a finding dated the day of a crossing is not
    before it)."""
    types = {contract.field(order.earlier).type, contract.field(order.later).type}
    return types == {"date", "datetime"}


def person_id_columns(contract: RecordContract) -> list[str]:
    return [f.name for f in contract.fields if f.person_id]


def sensitive_columns(contract: RecordContract) -> list[str]:
    return [f.name for f in contract.fields if f.sensitive]

"""US Department of Labor H-2A / H-2B public records as a tracerisk source.

Every file of ``../shared/data`` that the source reads is declared once below with its column mapping (the
columns change across fiscal years): OFLC H-2A disclosure FY2006-FY2017 and H-2B FY2018-2019 map onto the
``visa_application`` contract's columns (plus the DOL fields the contract has no column for: workers
requested / certified, labour-contractor flag, law firm, crop, SOC / NAICS); H-2B Appendix C and the farm
labour contractor register onto ``recruiter``; the debarment lists and the back-wage list onto
``enforcement_outcome``.

Each spreadsheet is parsed once into Parquet under ``$TRACERISK_HOME/cache/us_dol/`` (keyed by file name,
size, modification time and the version of its declaration), so a second run never re-reads an xlsx file.
"""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import re
import unicodedata
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.contracts import CONTRACTS
from data_contracts.pseudonymise import PseudonymKey
from data_contracts.reader import RawBatch
from data_contracts.validate import ValidatedBatch, validate_batch

if TYPE_CHECKING:
    from data_contracts.gx_suites import GxBatchValidator

ADAPTER_VERSION = 2  # bump when the parsing below changes: every cached file is then re-parsed
CACHE_SUBDIR = Path("cache") / "us_dol"
QUARANTINE_SUBDIR = Path("quarantine") / "us_dol"

# Contract fields each DOL record type does not supply (declared once for the source): the contract's rules
# that need one of them are skipped and reported as skipped; every other rule is checked. A DOL filing is a
# sponsor's petition, not a consular application: no visa post, desk officer or applicant (nor the applicant's
# audit fields, a register number or a visa's validity); a debarment or back-wage row names the employer but
# carries no register number; the farm labour contractor register has no licence status or registration day.
UNSUPPLIED: dict[str, tuple[str, ...]] = {
    "visa_application": (
        "batch_id",
        "post_id",
        "desk_officer_id",
        "applicant_id",
        "applicant_age_band",
        "applicant_sex",
        "applicant_nationality",
        "sponsor_registration_no",
        "recruiter_licence_id",
        "valid_until",
        "document_check_flag",
        "expedited",
        "refusal_overturned",
    ),
    "enforcement_outcome": ("batch_id", "entity_ref"),
    "recruiter": (
        "batch_id",
        "address",
        "phone",
        "directors",
        "declared_fee_to_workers_usd",
        "licence_status",
        "registered_on",
    ),
}
# visa_application column -> the FILING_COLUMNS it is mapped from: a file that maps none of them does not
# supply that column (FY2006 has no dates and no agent, FY2007 no receipt date).
FILING_SOURCES: dict[str, tuple[str, ...]] = {
    "submitted_at": ("submitted_at",),
    "decided_at": ("decided_at",),
    "recruiter_name": ("recruiter_name", "law_firm"),
    "sponsor_name": ("sponsor_name",),
    "occupation": ("occupation",),
    "declared_wage": ("declared_wage",),
    "wage_unit": ("wage_unit_raw",),
    "decision": ("case_status",),
    "worksite_region": ("worksite_region", "employer_state"),
}

# Columns of a parsed filing (contract names of visa_application where the contract has one).
FILING_COLUMNS = (
    "application_id",
    "decided_at",
    "submitted_at",
    "case_status",
    "sponsor_name",
    "trade_name_dba",
    "employer_city",
    "employer_state",
    "recruiter_name",
    "agent_state",
    "law_firm",
    "occupation",
    "soc_code",
    "naics_code",
    "crop",
    "workers_requested",
    "workers_certified",
    "declared_wage",
    "wage_unit_raw",
    "worksite_city",
    "worksite_region",
    "other_worksite",
    "organisation_flag",
)


@dataclass(frozen=True)
class DolFile:
    """One disclosure file: its key, path under the data folder, programme, fiscal year and column mapping."""

    key: str
    path: str
    program: str
    fiscal_year: int
    columns: dict[str, str]  # source column -> FILING_COLUMNS name

    @property
    def declaration_hash(self) -> str:
        raw = json.dumps([ADAPTER_VERSION, self.key, self.path, self.program, self.fiscal_year, self.columns])
        return hashlib.sha256(raw.encode()).hexdigest()[:12]

    @property
    def unsupplied(self) -> tuple[str, ...]:
        """visa_application fields this file does not supply: the source's, plus those this year's columns lack."""
        mapped = set(self.columns.values())
        lacking = [c for c, sources in FILING_SOURCES.items() if not mapped & set(sources)]
        return (*UNSUPPLIED["visa_application"], *lacking)


DISCLOSURE_FILES: tuple[DolFile, ...] = (
    DolFile(
        "h2a_fy2006",
        "oflc_h2_disclosure/h2a/H2a_FY2006.csv",
        "H-2A",
        2006,
        {
            "Case_Number": "application_id",
            "Case_Status": "case_status",
            "Employer_Name": "sponsor_name",
            "Employer_City": "employer_city",
            "Employer_State": "employer_state",
            "Job_Title": "occupation",
            "Nbr_Workers_Requsted": "workers_requested",
            "Nbr_Workers_Certified": "workers_certified",
            "Basic_Rate_of_Pay": "declared_wage",
            "Wage_Rate_Per": "wage_unit_raw",
        },
    ),
    DolFile(
        "h2a_fy2007",
        "oflc_h2_disclosure/h2a/H2a_FY2007.csv",
        "H-2A",
        2007,
        {
            "CASE_NO": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "JOB_TITLE": "occupation",
            "NBR_WORKERS_REQUESTED": "workers_requested",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "ALIEN_WORK_STATE": "worksite_region",
        },
    ),
    DolFile(
        "h2a_fy2008",
        "oflc_h2_disclosure/h2a/H2A_FY2008.xlsx",
        "H-2A",
        2008,
        {
            "CASE_NO": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "JOB_TITLE": "occupation",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "ALIEN_WORK_CITY": "worksite_city",
            "ALIEN_WORK_STATE": "worksite_region",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2009",
        "oflc_h2_disclosure/h2a/H2A_FY2009.xlsx",
        "H-2A",
        2009,
        {
            "CASE_NO": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "JOB_TITLE": "occupation",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "ALIEN_WORK_CITY": "worksite_city",
            "ALIEN_WORK_STATE": "worksite_region",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2010",
        "oflc_h2_disclosure/h2a/H-2A_FY2010.xlsx",
        "H-2A",
        2010,
        {
            "CASE_NO": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "JOB_TITLE": "occupation",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "ALIEN_WORK_CITY": "worksite_city",
            "ALIEN_WORK_STATE": "worksite_region",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2011",
        "oflc_h2_disclosure/h2a/H-2A_FY2011.xlsx",
        "H-2A",
        2011,
        {
            "CASE_NO": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "JOB_TITLE": "occupation",
            "PRIMARY_CROP": "crop",
            "NBR_WORKERS_REQUESTED": "workers_requested",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "ALIEN_WORK_CITY": "worksite_city",
            "ALIEN_WORK_STATE": "worksite_region",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2012",
        "oflc_h2_disclosure/h2a/H-2A_FY2012.xlsx",
        "H-2A",
        2012,
        {
            "CASE_NO": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "JOB_TITLE": "occupation",
            "PRIMARY_CROP": "crop",
            "NBR_WORKERS_REQUESTED": "workers_requested",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "ALIEN_WORK_CITY": "worksite_city",
            "ALIEN_WORK_STATE": "worksite_region",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2013",
        "oflc_h2_disclosure/h2a/H2A_FY2013.xls",
        "H-2A",
        2013,
        {
            "CASE_NO": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "JOB_TITLE": "occupation",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "ALIEN_WORK_CITY": "worksite_city",
            "ALIEN_WORK_STATE": "worksite_region",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2014",
        "oflc_h2_disclosure/h2a/H-2A_FY14_Q4.xlsx",
        "H-2A",
        2014,
        {
            "CASE_NO": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "LAWFIRM_NAME": "law_firm",
            "JOB_TITLE": "occupation",
            "SOC_CODE_ID": "soc_code",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "WORKSITE_LOCATION_CITY": "worksite_city",
            "WORKSITE_LOCATION_STATE": "worksite_region",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2015",
        "oflc_h2_disclosure/h2a/H-2A_Disclosure_Data_FY15_Q4.xlsx",
        "H-2A",
        2015,
        {
            "CASE_NUMBER": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "LAWFIRM_NAME": "law_firm",
            "JOB_TITLE": "occupation",
            "SOC_CODE": "soc_code",
            "NAIC_CODE": "naics_code",
            "PRIMARY_CROP": "crop",
            "NBR_WORKERS_REQUESTED": "workers_requested",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "WORKSITE_CITY": "worksite_city",
            "WORKSITE_STATE": "worksite_region",
            "OTHER_WORKSITE_LOCATION": "other_worksite",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2016",
        "oflc_h2_disclosure/h2a/H-2A_Disclosure_Data_FY16_updated.xlsx",
        "H-2A",
        2016,
        {
            "CASE_NUMBER": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "LAWFIRM_NAME": "law_firm",
            "JOB_TITLE": "occupation",
            "SOC_CODE": "soc_code",
            "NAIC_CODE": "naics_code",
            "PRIMARY_CROP": "crop",
            "NBR_WORKERS_REQUESTED": "workers_requested",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "WORKSITE_CITY": "worksite_city",
            "WORKSITE_STATE": "worksite_region",
            "OTHER_WORKSITE_LOCATION": "other_worksite",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2a_fy2017",
        "oflc_h2_disclosure/h2a/H-2A_Disclosure_Data_FY17.xlsx",
        "H-2A",
        2017,
        {
            "CASE_NUMBER": "application_id",
            "DECISION_DATE": "decided_at",
            "CASE_RECEIVED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "TRADE_NAME_DBA": "trade_name_dba",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "LAWFIRM_NAME": "law_firm",
            "JOB_TITLE": "occupation",
            "SOC_CODE": "soc_code",
            "NAICS_CODE": "naics_code",
            "PRIMARY_CROP": "crop",
            "NBR_WORKERS_REQUESTED": "workers_requested",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "BASIC_UNIT_OF_PAY": "wage_unit_raw",
            "WORKSITE_CITY": "worksite_city",
            "WORKSITE_STATE": "worksite_region",
            "OTHER_WORKSITE_LOCATION": "other_worksite",
            "ORGANIZATION_FLAG": "organisation_flag",
        },
    ),
    DolFile(
        "h2b_fy2018",
        "oflc_h2_disclosure/h2b/H-2B_Disclosure_Data_FY2018_EOY.xlsx",
        "H-2B",
        2018,
        {
            "CASE_NUMBER": "application_id",
            "DECISION_DATE": "decided_at",
            "SUBMITTED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "TRADE_NAME_DBA": "trade_name_dba",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "LAWFIRM_NAME": "law_firm",
            "JOB_TITLE": "occupation",
            "SOC_CODE": "soc_code",
            "NAICS_CODE": "naics_code",
            "NBR_WORKERS_REQUESTED": "workers_requested",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "PAY_RANGE_UNIT": "wage_unit_raw",
            "EMPLOYEE_WORKSITE_CITY": "worksite_city",
            "EMPLOYEE_WORK_STATE": "worksite_region",
            "OTHER_WORKSITE_LOCATION": "other_worksite",
        },
    ),
    DolFile(
        "h2b_fy2019",
        "oflc_h2_disclosure/h2b/H-2B_Disclosure_Data_FY2019.xlsx",
        "H-2B",
        2019,
        {
            "CASE_NUMBER": "application_id",
            "DECISION_DATE": "decided_at",
            "SUBMITTED_DATE": "submitted_at",
            "CASE_STATUS": "case_status",
            "EMPLOYER_NAME": "sponsor_name",
            "TRADE_NAME_DBA": "trade_name_dba",
            "EMPLOYER_CITY": "employer_city",
            "EMPLOYER_STATE": "employer_state",
            "AGENT_ATTORNEY_NAME": "recruiter_name",
            "AGENT_ATTORNEY_STATE": "agent_state",
            "LAWFIRM_NAME": "law_firm",
            "JOB_TITLE": "occupation",
            "SOC_CODE": "soc_code",
            "NAICS_CODE": "naics_code",
            "NBR_WORKERS_REQUESTED": "workers_requested",
            "NBR_WORKERS_CERTIFIED": "workers_certified",
            "BASIC_RATE_OF_PAY": "declared_wage",
            "PAY_RANGE_UNIT": "wage_unit_raw",
            "WORKSITE_CITY": "worksite_city",
            "WORKSITE_STATE": "worksite_region",
            "OTHER_WORKSITE_LOCATION": "other_worksite",
        },
    ),
)
BY_KEY = {f.key: f for f in DISCLOSURE_FILES}


@dataclass(frozen=True)
class AppendixCFile:
    """One H-2B Appendix C file (foreign labour recruiters named on each application): its key, path, fiscal
    year, the last day of the period it covers (a row is knowable from the day after: the rows carry no
    decision date) and its column mapping (source column -> APPENDIX_C_COLUMNS name)."""

    key: str
    path: str
    fiscal_year: int
    period_end: date
    columns: dict[str, str]

    @property
    def declaration_hash(self) -> str:
        raw = json.dumps([ADAPTER_VERSION, self.key, self.path, self.fiscal_year, str(self.period_end), self.columns])
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


# Columns of a parsed Appendix C row: the case it is named on, the recruiter organisation and where it is
# registered; ``staff_key`` is a hash of the named individual recruiter (never the name itself), used only to
# count organisations that name the same person.
APPENDIX_C_COLUMNS = (
    "application_id",
    "name",
    "city",
    "region",
    "postal_code",
    "country",
    "province",
    "staff_last_name",
    "staff_first_name",
)
_APPENDIX_C_FY2020_ON = {
    "CASE_NUMBER": "application_id",
    "RECRUITER_LAST_NAME": "staff_last_name",
    "RECRUITER_FIRST_NAME": "staff_first_name",
    "RECRUITER_EMPLOYER_NAME": "name",
    "RECRUITER_EMPLOYER_CITY": "city",
    "RECRUITER_EMPLOYER_STATE": "region",
    "RECRUITER_EMPLOYER_POSTAL_CODE": "postal_code",
    "RECRUITER_EMPLOYER_COUNTRY": "country",
    "RECRUITER_EMPLOYER_PROVINCE": "province",
}
APPENDIX_C_FILES: tuple[AppendixCFile, ...] = (
    AppendixCFile(
        "h2b_appendix_c_fy2020",
        "oflc_h2_disclosure/h2b_foreign_recruiters/H2B_FY2020_Appendix_C.xlsx",
        2020,
        date(2020, 9, 30),
        dict(_APPENDIX_C_FY2020_ON),
    ),
    AppendixCFile(
        "h2b_appendix_c_fy2021",
        "oflc_h2_disclosure/h2b_foreign_recruiters/H-2B_Appendix_C_FY2021.xlsx",
        2021,
        date(2021, 9, 30),
        dict(_APPENDIX_C_FY2020_ON),
    ),
    AppendixCFile(  # FY2022 up to the second quarter (October 2021 - March 2022)
        "h2b_appendix_c_fy2022",
        "oflc_h2_disclosure/h2b_foreign_recruiters/H-2B_Appendix_C_FY2022_Q2.xlsx",
        2022,
        date(2022, 3, 31),
        dict(_APPENDIX_C_FY2020_ON),
    ),
)
DEBARMENTS_FILE = "dol_h2_debarments/buzzfeed_2016/debarments-2010-2014.csv"
BACKWAGES_FILE = "dol_h2_debarments/buzzfeed_2015_backwages/top-total-h2-backwages-2010-2014.csv"
FLC_FILE = "dol_flc_registry/FLCWksht.csv"
# The debarment lists cover start dates 2010-2014 (../shared/data/README.txt: later ones are held back), the
# back-wage list totals 2010-2014: nothing after this day is known from these files.
LABELS_COVER_UNTIL = date(2014, 12, 31)

US_STATES = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
    "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
    "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
    "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM",
    "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK",
    "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR", "GUAM": "GU",
    "VIRGIN ISLANDS": "VI", "NORTHERN MARIANA ISLANDS": "MP",
}  # fmt: skip
HOURS_PER_UNIT = {"hour": 1.0, "day": 8.0, "week": 40.0, "month": 173.3, "year": 2080.0}


class DolDataError(ValueError):
    """The data folder lacks a declared file or a declared column (message for the person running it)."""


def fiscal_year_end(fiscal_year: int) -> date:
    return date(fiscal_year, 9, 30)


# ---------------------------------------------------------------------------------------------- raw reading
def read_rows(path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Header and data rows of the first sheet of a CSV, .xls or .xlsx file (values as the file holds them)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        with open(path, newline="", encoding="latin-1") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            return [h.strip() for h in header], [tuple(r) for r in reader]
    if suffix == ".xls":
        import xlrd

        book = xlrd.open_workbook(str(path), on_demand=True)
        sheet = book.sheet_by_index(0)
        out: list[tuple[Any, ...]] = []
        for i in range(1, sheet.nrows):
            values = []
            for cell in sheet.row(i):
                if cell.ctype == xlrd.XL_CELL_DATE:
                    values.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                else:
                    values.append(cell.value)
            out.append(tuple(values))
        return [str(h).strip() for h in sheet.row_values(0)], out
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = workbook[workbook.sheetnames[0]].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows)]
        return header, [r for r in rows if any(v is not None and v != "" for v in r)]
    finally:
        workbook.close()


def _frame(path: Path, columns: dict[str, str]) -> pd.DataFrame:
    header, rows = read_rows(path)
    missing = sorted(set(columns) - set(header))
    if missing:
        raise DolDataError(f"{path}: declared columns {missing} are not in the file (found {header[:8]}...)")
    index = {name: header.index(name) for name in columns}
    data = {target: [r[index[src]] if index[src] < len(r) else None for r in rows] for src, target in columns.items()}
    return pd.DataFrame(data, dtype=object)


# ------------------------------------------------------------------------------------------- normalising
def _text(values: pd.Series) -> pd.Series:
    out = values.map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    return out.map(lambda v: None if v in (None, "", "N/A", "NA", "None", "nan") else v).astype("string")


def _number(values: pd.Series) -> pd.Series:
    cleaned = values.map(lambda v: re.sub(r"[$,\s]", "", v) if isinstance(v, str) else v)
    return pd.to_numeric(cleaned, errors="coerce").astype("float64")


def _datetime(values: pd.Series) -> pd.Series:
    def one(v: object) -> pd.Timestamp | None:
        if v is None or v == "":
            return None
        if isinstance(v, datetime):
            return pd.Timestamp(v)
        if isinstance(v, float | int):  # an Excel serial day
            return pd.Timestamp(datetime(1899, 12, 30) + timedelta(days=float(v)))
        text = str(v).strip()
        for fmt in ("%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                return pd.Timestamp(datetime.strptime(text, fmt))
            except ValueError:
                continue
        return None

    return pd.to_datetime(values.map(one), errors="coerce").astype("datetime64[us]")


def _state(values: pd.Series) -> pd.Series:
    def one(v: object) -> str | None:
        if not isinstance(v, str) or not v.strip():
            return None
        text = v.strip().upper()
        return text if len(text) == 2 else US_STATES.get(text, text)

    return values.map(one).astype("string")


# Case statuses of an undecided case (FY2006-2019 use Received, Incomplete and Modification).
PENDING_STATUSES = ("received", "incomplete", "modification", "pending", "in process")


def decision_of(status: str | None) -> str | None:
    """Contract decision (approved, refused, withdrawn, pending) of an OFLC case status of any year."""
    if status is None:
        return None
    s = status.lower()
    if "withdraw" in s:
        return "withdrawn"
    if "denied" in s or "denial" in s or "rejected" in s:
        return "refused"
    if "certif" in s or "partial" in s or "expired" in s:
        return "approved"
    if any(word in s for word in PENDING_STATUSES):
        return "pending"
    return None  # a status no declared year uses: no decision (the contract then quarantines the row)


def wage_unit_of(raw: str | None) -> str | None:
    if raw is None:
        return None
    s = raw.strip().lower()
    for prefix, unit in (("h", "hour"), ("d", "day"), ("w", "week"), ("b", "week"), ("m", "month"), ("y", "year")):
        if s.startswith(prefix):
            return unit
    return "piece" if s.startswith("p") else None


def labour_contractor_of(flag: str | None) -> bool | None:
    """True where the ORGANIZATION_FLAG says H-2A labour contractor (FY2008-13 code 'L', then words)."""
    if flag is None:
        return None
    s = flag.strip().lower()
    return s == "l" or "labor contractor" in s or "labour contractor" in s


def normalise_filings(raw: pd.DataFrame, spec: DolFile) -> pd.DataFrame:
    """Typed filings of one disclosure file: every FILING_COLUMNS column (missing ones empty) plus derived ones."""
    out = pd.DataFrame(index=raw.index)
    numbers = ("workers_requested", "workers_certified", "declared_wage")
    for column in FILING_COLUMNS:
        values = raw[column] if column in raw else pd.Series([None] * len(raw), index=raw.index, dtype=object)
        if column in numbers:
            out[column] = _number(values)
        elif column in ("decided_at", "submitted_at"):
            out[column] = _datetime(values)
        elif column in ("employer_state", "worksite_region", "agent_state"):
            out[column] = _state(values)
        else:
            out[column] = _text(values)
    out["program"] = spec.program
    out["fiscal_year"] = spec.fiscal_year
    out["source_file"] = spec.key
    out["visa_class"] = "seasonal_agri" if spec.program == "H-2A" else "work"
    out["worksite_country"] = "US"
    out["decision"] = out["case_status"].map(decision_of, na_action="ignore").astype("string")
    out["wage_unit"] = out["wage_unit_raw"].map(wage_unit_of, na_action="ignore").astype("string")
    hours = out["wage_unit"].map(HOURS_PER_UNIT, na_action="ignore").astype("float64")
    out["hourly_wage"] = (out["declared_wage"] / hours).where(lambda w: (w > 0.5) & (w < 200))
    out["labour_contractor"] = out["organisation_flag"].map(labour_contractor_of, na_action="ignore").astype("boolean")
    # FY2006 has no decision date: the end of the fiscal year is the earliest day the filing is surely known.
    fallback = pd.Timestamp(fiscal_year_end(spec.fiscal_year))
    out["decided_on"] = out["decided_at"].fillna(fallback).dt.normalize().astype("datetime64[us]")
    out["worksite_region"] = out["worksite_region"].fillna(out["employer_state"])
    out["record_id"] = spec.key + ":" + out.index.astype(str)
    return out.reset_index(drop=True)


# ------------------------------------------------------------------------------------------------- cache
def cache_dir(home: Path) -> Path:
    return home / CACHE_SUBDIR


def _cache_path(home: Path, source: Path, tag: str) -> Path:
    stat = source.stat()
    digest = hashlib.sha256(f"{tag}|{source.name}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    return cache_dir(home) / f"{source.stem}-{digest}.parquet"


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def _parse_disclosure(data_dir: Path, spec: DolFile) -> pd.DataFrame:
    return normalise_filings(_frame(data_dir / spec.path, spec.columns), spec)


def _parse_appendix_c(data_dir: Path, spec: AppendixCFile) -> pd.DataFrame:
    return normalise_appendix_c(_frame(data_dir / spec.path, spec.columns), spec)


def staff_key(last: str | None, first: str | None) -> str | None:
    """A hash standing for a named individual recruiter (name parts in any order, case and accents folded)."""
    folded = unicodedata.normalize("NFKD", f"{last or ''} {first or ''}").encode("ascii", "ignore").decode()
    key = " ".join(sorted(re.sub(r"[^a-z0-9]+", " ", folded.lower()).split()))
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else None


def case_submitted_on(application_id: str | None) -> date | None:
    """The filing day an OFLC case number carries (H-400-YYDDD-NNNNNN: two-digit year and day of the year)."""
    found = re.match(r"^[A-Z]-\d{3}-(\d{2})(\d{3})-", application_id or "")
    if not found or not 1 <= int(found.group(2)) <= 366:
        return None
    return date(2000 + int(found.group(1)), 1, 1) + timedelta(days=int(found.group(2)) - 1)


def normalise_appendix_c(raw: pd.DataFrame, spec: AppendixCFile) -> pd.DataFrame:
    """Typed Appendix C rows: every APPENDIX_C_COLUMNS column but the staff names, which become ``staff_key``."""
    text = {c: _text(raw[c]) if c in raw else pd.Series([None] * len(raw), dtype="string") for c in APPENDIX_C_COLUMNS}
    out = pd.DataFrame({c: v for c, v in text.items() if not c.startswith("staff_")})
    out["region"] = out["region"].where(~out["region"].str.lower().isin(["n/a", "na", "none"]))
    out["country"] = out["country"].str.upper()
    out["staff_key"] = [
        staff_key(a, b)
        for a, b in zip(
            text["staff_last_name"].astype(object).where(text["staff_last_name"].notna(), None),
            text["staff_first_name"].astype(object).where(text["staff_first_name"].notna(), None),
            strict=True,
        )
    ]
    out["staff_key"] = out["staff_key"].astype("string")
    out["fiscal_year"] = spec.fiscal_year
    out["source_file"] = spec.key
    out["submitted_on"] = pd.to_datetime(out["application_id"].map(case_submitted_on, na_action="ignore"))
    out["submitted_on"] = out["submitted_on"].astype("datetime64[us]")
    out["known_on"] = pd.Timestamp(spec.period_end + timedelta(days=1)).as_unit("us")
    out["record_id"] = spec.key + ":" + out.index.astype(str)
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class ParseJob:
    name: str  # what the progress bar shows
    source: Path
    tag: str  # declaration hash: a changed declaration re-parses
    parse: Callable[[], pd.DataFrame]
    filings: DolFile | None = None  # a disclosure file: its rows go through the visa_application contract


def _run_job(job: ParseJob) -> pd.DataFrame:
    return job.parse()


def _disclosure_job(data_dir: Path, spec: DolFile) -> ParseJob:
    return ParseJob(
        spec.key, data_dir / spec.path, spec.declaration_hash, _Bound(_parse_disclosure, data_dir, spec), spec
    )


@dataclass(frozen=True)
class _Bound:
    """A picklable ``fn(data_dir, arg)`` (the parse runs in a worker process)."""

    fn: Callable[[Path, Any], pd.DataFrame]
    data_dir: Path
    arg: Any

    def __call__(self) -> pd.DataFrame:
        return self.fn(self.data_dir, self.arg)


def cached_frames(
    jobs: Iterable[ParseJob],
    home: Path,
    workers: int = 2,
    progress: Callable[[int, int, str], None] | None = None,
    checks: dict[str, ContractCheck] | None = None,
    gx: GxBatchValidator | None = None,
) -> dict[str, pd.DataFrame]:
    """Each job's frame, from its Parquet cache when present, else parsed (in ``workers`` processes) and cached.

    A disclosure file's rows go through the visa_application contract before they are cached: only accepted
    rows enter the cache, the rest go to ``$TRACERISK_HOME/quarantine/us_dol/`` with the ids of the rules they
    broke. Each file's ContractCheck (kept beside its cache file) is put in ``checks`` when given. ``gx``: also
    run the Great Expectations suite on the accepted rows of each file parsed now.
    """
    jobs = list(jobs)
    for job in jobs:
        if not job.source.exists():
            raise DolDataError(f"{job.source} not found: is --data-dir the ../shared/data folder?")
    out: dict[str, pd.DataFrame] = {}
    todo: list[tuple[ParseJob, Path]] = []
    for job in jobs:
        path = _cache_path(home, job.source, job.tag)
        if path.exists() and (job.filings is None or _check_path(path).exists()):
            out[job.name] = pd.read_parquet(path)
            if job.filings is not None and checks is not None:
                checks[job.name] = ContractCheck(**json.loads(_check_path(path).read_text(encoding="utf-8")))
        else:
            todo.append((job, path))
    done = len(out)
    if progress:
        progress(done, len(jobs), "cache" if not todo else f"parsing {len(todo)} files")
    if todo:
        # forkserver, not fork: callers (Prefect flows, the test suite) have threads running, and a forked child
        # inherits their locks in whatever state they were in (the pool then breaks).
        pool = (
            ProcessPoolExecutor(
                max_workers=max(1, min(workers, len(todo))), mp_context=multiprocessing.get_context("forkserver")
            )
            if workers > 1
            else None
        )
        try:
            results = pool.map(_run_job, [job for job, _ in todo]) if pool else (job.parse() for job, _ in todo)
            for (job, path), frame in zip(todo, results, strict=True):
                if job.filings is not None:
                    frame, check = check_filings(frame, job.filings, home, path.stem, gx)
                    path.parent.mkdir(parents=True, exist_ok=True)
                    _check_path(path).write_text(json.dumps(check.as_json(), indent=1), encoding="utf-8")
                    if checks is not None:
                        checks[job.name] = check
                _write_atomic(frame, path)
                out[job.name] = frame
                done += 1
                if progress:
                    progress(done, len(jobs), job.name)
        finally:
            if pool:
                pool.shutdown()
    return {job.name: out[job.name] for job in jobs}


def _check_path(cache_path: Path) -> Path:
    return cache_path.with_suffix(".check.json")


# ------------------------------------------------------------------------------------ the record contracts
@dataclass
class ContractCheck:
    """One DOL file's mapped rows through their record contract (``validate_batch``)."""

    source: str  # the declared file's key (or the small list's name)
    record_type: str
    read: int
    accepted: int
    quarantined: int
    reasons: dict[str, int]  # rule id -> quarantined rows breaking it, most frequent first
    skipped_rules: dict[str, str]  # rule id -> why it was not checked (the source does not supply a field)
    quarantine_file: str | None = None  # relative to $TRACERISK_HOME
    gx_success: bool | None = None  # the Great Expectations suite on a sample of the accepted rows (None: not run)
    gx_failed: list[str] = field(default_factory=list)  # rule ids of its failed expectations

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    def top_reasons(self, top: int = 3) -> str:
        return ", ".join(f"{rule} ({n:,})" for rule, n in list(self.reasons.items())[:top])


# No DOL record type supplies a person identifier (checked in check_rows), so no pseudonym is ever computed
# with this key; validate_batch needs one all the same.
_NO_PERSON_IDS = PseudonymKey(b"us-dol-sources-supply-no-person-identifiers", "us-dol (no person identifiers)")


def _text_table(frame: pd.DataFrame, record_type: str) -> pa.Table:
    """The contract columns of ``frame`` as raw text (what validate_batch parses), _line = row number + 2."""
    contract = CONTRACTS[record_type]
    columns: dict[str, pa.Array] = {}
    for name in frame.columns:
        values = frame[name]
        kind = contract.field(name).type
        if pd.api.types.is_datetime64_any_dtype(values):
            text = values.dt.strftime("%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S")
        elif pd.api.types.is_bool_dtype(values):
            text = values.map(lambda v: None if pd.isna(v) else ("true" if v else "false"), na_action="ignore")
        elif pd.api.types.is_numeric_dtype(values):
            text = values.map(lambda v: format(float(v), ".15g"), na_action="ignore")
        else:
            text = values.astype(object)
        columns[name] = pa.array(text.astype(object).where(text.notna(), None).tolist(), type=pa.string())
    columns["_line"] = pa.array(np.arange(len(frame), dtype=np.int64) + 2)
    return pa.table(columns)


GX_SAMPLE_ROWS = 2_000  # as `tracerisk ingest --gx-sample-rows` by default


def check_rows(
    mapped: pd.DataFrame,
    record_type: str,
    unsupplied: Iterable[str],
    source: str,
    gx: GxBatchValidator | None = None,
) -> tuple[np.ndarray, ContractCheck, ValidatedBatch]:
    """Validate ``mapped`` (contract columns, one row per source row, in order) against ``record_type``'s
    contract, skipping only the rules that need a field in ``unsupplied``: (accepted mask, check, batch).
    gx: also run the contract's Great Expectations suite (supplied columns only) on a sample of accepted rows."""
    contract = CONTRACTS[record_type]
    unsupplied = tuple(unsupplied)
    people = [f.name for f in contract.fields if f.person_id and f.name not in unsupplied]
    if people:
        raise ValueError(f"{source}: person identifiers {people} would need the lake's pseudonym key")
    raw = RawBatch(_text_table(mapped.reset_index(drop=True), record_type), [], "parquet", None, [])
    batch = validate_batch(raw, record_type, {}, datetime.now(), _NO_PERSON_IDS, unsupplied=unsupplied)
    mask = np.zeros(len(mapped), dtype=bool)
    mask[batch.accepted.column("_line").to_numpy() - 2] = True
    check = ContractCheck(
        source,
        record_type,
        batch.read,
        batch.accepted.num_rows,
        batch.quarantined.num_rows,
        batch.reasons,
        batch.skipped_rules,
    )
    assert check.read == check.accepted + check.quarantined, "reconciliation broken"
    if gx is not None and check.accepted:
        supplied = [c for c in contract.columns if c in mapped.columns]
        sample = batch.accepted.select(supplied).to_pandas()
        sample = sample.sample(min(GX_SAMPLE_ROWS, len(sample)), random_state=42)
        result = gx.validate(contract, sample, f"us-dol-{source}", unsupplied)
        check.gx_success, check.gx_failed = result.success, result.failed_rule_ids
    return mask, check, batch


def _quarantine(home: Path, name: str, source_file: str, batch: ValidatedBatch, check: ContractCheck) -> None:
    """Write the quarantined rows (raw text, _reasons, _line, _file) under $TRACERISK_HOME/quarantine/us_dol/."""
    path = home / QUARANTINE_SUBDIR / f"{name}.parquet"
    if not check.quarantined:
        path.unlink(missing_ok=True)
        return
    table = batch.quarantined.append_column("_file", pa.array([source_file] * check.quarantined, pa.string()))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    check.quarantine_file = str(QUARANTINE_SUBDIR / path.name)


def check_filings(
    filings: pd.DataFrame, spec: DolFile, home: Path, name: str, gx: GxBatchValidator | None = None
) -> tuple[pd.DataFrame, ContractCheck]:
    """The accepted filings of one disclosure file (the quarantined ones written under ``home``) and the check."""
    unsupplied = spec.unsupplied
    mapped = visa_application_rows(filings)
    # OFLC decision dates are days (no time) while H-2B receipt dates carry a time: the contract's date order
    # is checked on days, else every same-day decision would read as decided before it was received.
    for column in ("submitted_at", "decided_at"):
        mapped[column] = mapped[column].dt.normalize()
    mapped = mapped[[c for c in mapped.columns if c not in unsupplied]]
    mask, check, batch = check_rows(mapped, "visa_application", unsupplied, spec.key, gx)
    _quarantine(home, name, spec.path, batch, check)
    return filings[mask].reset_index(drop=True), check


def _checked(
    frame: pd.DataFrame,
    mapped: pd.DataFrame,
    record_type: str,
    name: str,
    source_file: str,
    home: Path,
    gx: GxBatchValidator | None = None,
) -> tuple[pd.DataFrame, ContractCheck]:
    mask, check, batch = check_rows(mapped, record_type, UNSUPPLIED[record_type], name, gx)
    _quarantine(home, name, source_file, batch, check)
    return frame[mask].reset_index(drop=True), check


def enforcement_outcome_rows(outcomes: pd.DataFrame, source: str) -> pd.DataFrame:
    """Debarment or back-wage rows in the enforcement_outcome contract's columns."""
    return pd.DataFrame(
        {
            "record_id": outcomes["outcome_id"],
            "source": source,
            "outcome_id": outcomes["outcome_id"],
            "entity_type": outcomes["entity_type"],
            "entity_name": outcomes["entity_name"],
            "decided_on": outcomes["decided_on"],
            "kind": outcomes["kind"],
            "issuing_body": outcomes["issuing_body"],
        }
    )


def _debarment_rows(outcomes: pd.DataFrame) -> pd.DataFrame:
    return enforcement_outcome_rows(outcomes, "us-dol-oflc-debarments")


def _backwage_rows(outcomes: pd.DataFrame) -> pd.DataFrame:
    return enforcement_outcome_rows(outcomes, "us-dol-whd-backwages")


def recruiter_rows(flc: pd.DataFrame) -> pd.DataFrame:
    """The farm labour contractor register in the recruiter contract's columns."""
    return pd.DataFrame(
        {
            "record_id": "flc:" + flc.index.astype(str),
            "source": "us-dol-whd-flc-register",
            "recruiter_ref": flc["recruiter_ref"],
            "name": flc["name"],
            "agency_type": flc["agency_type"],
            "country": flc["country"],
            "licence_id": flc["licence_id"],
            "licence_valid_from": flc["licence_valid_from"],
            "licence_valid_to": flc["licence_valid_to"],
        }
    )


# ------------------------------------------------------------------------------------- small CSV sources
def read_debarments(data_dir: Path) -> pd.DataFrame:
    """Debarments 2010-2014 as enforcement_outcome rows (kind 'debarment', decided_on = the start date)."""
    raw = pd.read_csv(data_dir / DEBARMENTS_FILE, dtype=str, keep_default_na=False)
    out = pd.DataFrame(
        {
            "outcome_id": "debarment:" + raw.index.astype(str),
            "entity_type": "employer",
            "entity_name": raw["Entity Debarred"].str.strip(),
            "city": raw["City"].str.strip(),
            "state": _state(raw["State"]),
            "decided_on": pd.to_datetime(raw["Start Date"], errors="coerce").astype("datetime64[us]"),
            "ends_on": pd.to_datetime(raw["End Date"], errors="coerce").astype("datetime64[us]"),
            "kind": "debarment",
            "program": raw["Program"].str.strip(),
            "issuing_body": "US DOL OFLC",
        }
    )
    return out


def read_backwages(data_dir: Path) -> pd.DataFrame:
    """Employers owing over $100k of H-2 back wages 2010-2014: dated at the end of the period (when it is known)."""
    raw = pd.read_csv(data_dir / BACKWAGES_FILE, dtype=str, keep_default_na=False)
    names = raw["names"].str.split("|").str[0].str.strip()
    return pd.DataFrame(
        {
            "outcome_id": "backwages:" + raw["employer_id"],
            "entity_type": "employer",
            "entity_name": names,
            "decided_on": pd.Timestamp(LABELS_COVER_UNTIL),
            "kind": "back_wages_over_100k",
            "amount_usd": pd.to_numeric(raw["h2_backwages"], errors="coerce"),
            "issuing_body": "US DOL WHD",
        }
    )


def read_flc_register(data_dir: Path) -> pd.DataFrame:
    """Registered farm labour contractors (c. 2020-21) as recruiter rows with their authorisations."""
    raw = pd.read_csv(data_dir / FLC_FILE, dtype=str, keep_default_na=False, encoding="latin-1")

    def flag(column: str) -> pd.Series:
        return raw[column].str.strip().str.upper().eq("Y")

    return pd.DataFrame(
        {
            "recruiter_ref": raw["Cert Num"].str.strip(),
            "name": raw["FLC Business or FLC Individual"].str.strip(),
            "agency_type": "labour_contractor",
            "country": "US",
            "region": _state(raw["FLC State"]),
            "licence_id": raw["Cert Num"].str.strip(),
            "licence_valid_from": pd.to_datetime(raw["FLC Certificate Start Date"], format="%m/%d/%Y", errors="coerce"),
            "licence_valid_to": pd.to_datetime(raw["FLC Certificate Valid Until"], format="%m/%d/%y", errors="coerce"),
            "driving_authorised": flag("Driving Authorization"),
            "housing_authorised": flag("Housing Authorization"),
            "transport_authorised": flag("Transportation Authorization"),
        }
    )


# ------------------------------------------------------------------------------------------------ loader
@dataclass
class DolData:
    filings: pd.DataFrame  # every disclosure row, FILING_COLUMNS + derived
    recruiters_appendix_c: pd.DataFrame  # foreign recruiters named per H-2B case, FY2020-2022 Q2 (known_on)
    flc_register: pd.DataFrame
    outcomes: pd.DataFrame  # debarments + back-wage list
    rows_per_source: dict[str, int]  # rows read per source
    checks: list[ContractCheck] = field(default_factory=list)  # per file: read / accepted / quarantined


def load(
    data_dir: Path,
    home: Path,
    keys: Iterable[str] | None = None,
    appendix_c: bool = True,
    workers: int = 2,
    progress: Callable[[int, int, str], None] | None = None,
    gx: GxBatchValidator | None = None,
) -> DolData:
    """Every declared source of ``data_dir``, spreadsheets through the Parquet cache under ``home``; every mapped
    row through its record contract first (``DolData.checks``). gx: also run the Great Expectations suites."""
    if not data_dir.is_dir():
        raise DolDataError(f"--data-dir {data_dir} is not a folder")
    specs = [BY_KEY[k] for k in keys] if keys is not None else list(DISCLOSURE_FILES)
    jobs = [_disclosure_job(data_dir, s) for s in specs]
    if appendix_c:
        jobs += [
            ParseJob(spec.key, data_dir / spec.path, spec.declaration_hash, _Bound(_parse_appendix_c, data_dir, spec))
            for spec in APPENDIX_C_FILES
        ]
    checks: dict[str, ContractCheck] = {}
    frames = cached_frames(jobs, home, workers, progress, checks, gx)
    filings = pd.concat([frames[s.key] for s in specs], ignore_index=True)
    appendix = [frames[j.name] for j in jobs if j.name.startswith("h2b_appendix_c")]
    recruiters = pd.concat(appendix, ignore_index=True) if appendix else pd.DataFrame()
    small: dict[str, tuple[pd.DataFrame, ContractCheck]] = {}
    for name, path, read, mapped, record_type in (
        ("debarments_2010_2014", DEBARMENTS_FILE, read_debarments, _debarment_rows, "enforcement_outcome"),
        ("backwages_2010_2014", BACKWAGES_FILE, read_backwages, _backwage_rows, "enforcement_outcome"),
        ("flc_register", FLC_FILE, read_flc_register, recruiter_rows, "recruiter"),
    ):
        raw = read(data_dir)
        small[name] = _checked(raw, mapped(raw), record_type, name, path, home, gx)
    (debarments, _), (backwages, _), (flc, _) = small.values()
    outcomes = pd.concat([debarments, backwages], ignore_index=True)
    # rows read from each source (the accepted ones are in the checks)
    rows = {name: checks[name].read if name in checks else len(frame) for name, frame in frames.items()}
    rows.update({name: check.read for name, (_, check) in small.items()})
    ordered = [checks[s.key] for s in specs] + [check for _, check in small.values()]
    return DolData(filings, recruiters, flc, outcomes, rows, ordered)


def visa_application_rows(filings: pd.DataFrame) -> pd.DataFrame:
    """The filings in the visa_application contract's columns (what an ingest into the lake would take)."""
    return pd.DataFrame(
        {
            "record_id": filings["record_id"],
            "source": "us-dol-oflc",
            "application_id": filings["application_id"],
            "visa_class": filings["visa_class"],
            "sponsor_name": filings["sponsor_name"],
            "recruiter_name": filings["recruiter_name"].fillna(filings["law_firm"]),
            "occupation": filings["occupation"],
            "worksite_country": filings["worksite_country"],
            "worksite_region": filings["worksite_region"],
            "declared_wage": filings["declared_wage"],
            "wage_unit": filings["wage_unit"].where(filings["wage_unit"].isin(["hour", "day", "week", "month"])),
            "submitted_at": filings["submitted_at"],
            "decided_at": filings["decided_at"],
            "decision": filings["decision"],
        }
    )

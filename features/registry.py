"""The indicator registry: every red flag of ../shared/INDICATORS.md declared once.

Each declaration carries its id, the entity it describes, its unit, expected direction (the LightGBM
monotone constraint), whether it is sensitive, its red-flag threshold, its window and its computation
(DuckDB SQL over the point-in-time views of features/build.py, returning ``entity_id, num, den``).
The plain-language texts (title, why it is a red flag, what it is based on, exclusions) are written from
the cited source lines and live in ``indicator_texts.toml`` beside this file, keyed by the same id.

From this one registry come: the feature columns, the monotone constraints, the reason texts with a
filled-in detail, the docs catalogue and the fairness note (features/catalogue.py), and the rule-based
red-flag count that the models must beat.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Literal

# The entity types are declared with the contracts; the registry passes them on to its readers.
from data_contracts.contracts import ENTITY_TYPES as ENTITY_TYPES
from data_contracts.contracts import EntityType as EntityType

# share: num of den (value = num / den); value: a measured quantity (value = num, missing when unmeasured);
# count: a count of events (value = num, 0 when none); flag: 0 / 1 (value = num, 0 when absent)
Kind = Literal["share", "value", "count", "flag"]
TEXTS_FILE = Path(__file__).with_name("indicator_texts.toml")
# Record attributes that must never reach a feature (DESIGN principle 2); R13 aggregates age (sensitive).
FORBIDDEN_ATTRIBUTES = ("applicant_nationality", "applicant_sex", "ethnicity", "religion", "nationality")
# A feature column is the indicator id, this separator and the window in days: 'E01_w1095'.
WINDOW_SEPARATOR = "_w"


@dataclass(frozen=True, kw_only=True)
class Indicator:
    id: str
    entity: EntityType
    unit: str  # what the value measures, e.g. "share of inspections"
    direction: int  # +1 raises risk, -1 lowers it, 0 must not be used as evidence either way
    kind: Kind
    sql: str | None  # SELECT entity_id, num, den FROM ... ; None when the records cannot support it
    detail: str  # reason detail, formatted with num, den, value, peer (peer rate or median)
    threshold: float | str = "p90"  # red flag when value > threshold; "pNN": data-derived percentile cut-off
    sources: tuple[str, ...] = ()  # 'ILO' and seed references 'file:line' as in INDICATORS.md
    data: tuple[str, ...] = ()  # record types it is computed from
    window_days: int = 1_095  # records within this many days before the as-of date
    min_den: int = 1  # shares need at least this many observations to be defined
    sensitive: bool = False
    not_computable: str = ""  # why the records cannot support it (sql is None)

    @property
    def shrunk(self) -> bool:
        """Whether the feature value is the rate shrunk toward the peers' (every share: empirical Bayes in
        ``features.build``, so that 1 of 1 does not outrank 30 of 100); the raw num / den stays in the reason
        detail and decides the red flag."""
        return self.kind == "share"

    @property
    def feature(self) -> str:
        """The feature column: id plus window, e.g. 'E01_w1095'."""
        return f"{self.id}{WINDOW_SEPARATOR}{self.window_days}"

    @property
    def texts(self) -> dict[str, object]:
        return indicator_texts().get(self.id, {})

    @property
    def title(self) -> str:
        return str(self.texts.get("title", ""))

    @property
    def why(self) -> str:
        return str(self.texts.get("why", "")).strip()


@cache
def indicator_texts() -> dict[str, dict[str, object]]:
    with open(TEXTS_FILE, "rb") as handle:
        return tomllib.load(handle)


def _share(table: str, entity: str, condition: str, where: str = "TRUE") -> str:
    return (
        f"SELECT {entity} AS entity_id, count_if(coalesce({condition}, false)) AS num, count(*) AS den "
        f"FROM {table} WHERE {entity} IS NOT NULL AND ({where}) GROUP BY 1"
    )


def _fl(what: str) -> str:
    """Reason detail of an inspection-finding share."""
    return "{num:.0f} of {den:.0f} inspections found " + what + "; peers (all employers) {peer:.1%}"


INDICATORS: tuple[Indicator, ...] = (
    # ------------------------------------------------------------------ employers
    Indicator(
        id="E01",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "finding_retention_of_identity_documents"),
        detail=_fl("identity documents retained"),
        threshold=0.0,
        sources=("ILO", "003:2892", "003:4582", "003:5272", "001:174"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E02",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "finding_withholding_of_wages OR coalesce(wage_arrears_usd, 0) > 0"),
        detail=_fl("wages withheld or in arrears"),
        threshold=0.0,
        sources=("ILO", "003:2892", "001:90", "001:324"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E03",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "finding_debt_bondage"),
        detail=_fl("debt deductions"),
        threshold=0.0,
        sources=("ILO", "003:2309", "003:5855", "001:19"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E04",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "finding_excessive_overtime OR coalesce(avg_weekly_hours, 0) > 60"),
        detail=_fl("hours above the legal maximum"),
        threshold="p90",
        sources=("ILO", "003:2309", "003:2884"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E05",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "finding_restriction_of_movement"),
        detail=_fl("restriction of movement"),
        threshold=0.0,
        sources=("ILO", "003:704", "003:2892", "001:19"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E06",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "housing_by_employer AND transport_by_employer"),
        detail=_fl("workers housed and transported by the employer"),
        threshold="p90",
        sources=("003:5172", "003:3232"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E07",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "finding_abusive_working_living_conditions"),
        detail=_fl("abusive living or working conditions"),
        threshold=0.0,
        sources=("ILO", "003:2890"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E08",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "finding_intimidation_threats"),
        detail=_fl("threats, e.g. of denunciation"),
        threshold=0.0,
        sources=("ILO", "003:2892", "001:21", "000:97"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E09",
        entity="employer",
        unit="mean shortfall of the wage found against the wage declared",
        direction=+1,
        kind="value",
        sql="""WITH d AS (SELECT employer_id, median(wage_hourly) AS m FROM va WHERE wage_hourly > 0 GROUP BY 1)
                 SELECT l.employer_id AS entity_id,
                        avg(greatest(0, (d.m - l.wage_found_hourly_usd) / d.m)) AS num, count(*) AS den
                 FROM li l JOIN d USING (employer_id) WHERE l.wage_found_hourly_usd > 0 GROUP BY 1""",
        detail="wage found at its inspections on average {value:.0%} below the median wage on its visa applications "
        "(inspections: {den:.0f}); peers (median employer) {peer:.0%}",
        threshold="p90",
        sources=("003:4149", "003:4150", "003:4190"),
        data=("visa_application", "labour_inspection"),
    ),
    Indicator(
        id="E10",
        entity="employer",
        unit="share of applications below 90% of the prevailing wage",
        direction=+1,
        kind="share",
        sql="""WITH p AS (SELECT occupation, worksite_region, median(wage_hourly) AS m FROM va
                            WHERE wage_hourly > 0 GROUP BY ALL HAVING count(*) >= 5)
                 SELECT v.employer_id AS entity_id, count_if(v.wage_hourly < 0.9 * p.m) AS num, count(*) AS den
                 FROM va v JOIN p USING (occupation, worksite_region)
                 WHERE v.employer_id IS NOT NULL AND v.wage_hourly > 0 GROUP BY 1""",
        detail="{num:.0f} of {den:.0f} applications declared a wage under 90% of the prevailing wage for the "
        "occupation and region; peers (all employers) {peer:.1%}",
        threshold="p90",
        sources=("003:4149",),
        data=("visa_application",),
    ),
    Indicator(
        id="E11",
        entity="employer",
        unit="tied work permits per declared employee",
        direction=+1,
        kind="value",
        sql="""SELECT v.employer_id AS entity_id, count(*) / greatest(any_value(o.employees), 1) AS num,
                        count(*) AS den
                 FROM va v JOIN org o ON o.registration_no = v.employer_id
                 WHERE v.approved AND v.visa_class IN ('work', 'seasonal_agri', 'domestic_worker', 'entertainer')
                 GROUP BY 1""",
        detail="approved work visas tied to this employer: {den:.0f}, {value:.2f} per employee it declared; "
        "peers (median employer) {peer:.2f}",
        threshold="p90",
        sources=("003:5172",),
        data=("visa_application", "organisation"),
    ),
    Indicator(
        id="E12",
        entity="employer",
        unit="sector named by the sources as high-risk (0 or 1)",
        direction=+1,
        kind="flag",
        sql="""SELECT registration_no AS entity_id,
                        CAST(sector IN ('agriculture', 'construction', 'domestic_work', 'fishing', 'food_processing',
                                        'hospitality_entertainment', 'manufacturing_garment') AS DOUBLE) AS num,
                        1 AS den FROM org""",
        detail="operates in a sector the cited reports name as high-risk for forced labour",
        threshold=0.5,
        sources=("003:322-330", "003:3964", "003:4218"),
        data=("organisation",),
    ),
    Indicator(
        id="E13",
        entity="employer",
        unit="share of applications through risky intermediaries",
        direction=+1,
        kind="share",
        sql=_share("va", "employer_id", "recruiter_risky"),
        detail="{num:.0f} of {den:.0f} applications came through an unlicensed, lapsed or sanctioned "
        "intermediary; peers (all employers) {peer:.1%}",
        threshold="p90",
        sources=("003:688",),
        data=("visa_application", "recruiter", "enforcement_outcome"),
    ),
    Indicator(
        id="E14",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "coalesce(minors_found, 0) > 0"),
        detail=_fl("minors working"),
        threshold=0.0,
        sources=("001:338", "003:5256"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="E15",
        entity="employer",
        unit="prior violations and complaints (count)",
        direction=+1,
        kind="count",
        sql="""SELECT employer_id AS entity_id, sum(n) AS num, 1 AS den FROM (
                   SELECT employer_id, count_if(outcome <> 'none') AS n FROM li GROUP BY 1
                   UNION ALL SELECT entity_ref, count(*) FROM eo WHERE entity_type = 'employer' GROUP BY 1)
                 WHERE employer_id IS NOT NULL GROUP BY 1""",
        detail="prior violations, sanctions or complaints on record: {num:.0f}; peers (median employer) {peer:g}",
        threshold="p90",
        sources=("003:5002",),
        data=("labour_inspection", "enforcement_outcome"),
    ),
    Indicator(
        id="E16",
        entity="employer",
        unit="share of inspections",
        direction=+1,
        kind="share",
        sql=_share("li", "employer_id", "contractor_name IS NOT NULL AND NOT contractor_licensed"),
        detail="{num:.0f} of {den:.0f} inspections found workers supplied by an unregistered or unlicensed "
        "labour contractor; peers (all employers) {peer:.1%}",
        threshold=0.0,
        sources=("003:4990", "003:5020"),
        data=("labour_inspection", "recruiter"),
    ),
    Indicator(
        id="E17",
        entity="employer",
        unit="registered after a sanction, sharing a director or phone (0 or 1)",
        direction=+1,
        kind="flag",
        sql="""SELECT o.registration_no AS entity_id, 1.0 AS num, 1 AS den FROM org o
                 WHERE EXISTS (SELECT 1 FROM org_links l JOIN sanctioned s ON s.employer_id = l.other_id
                               WHERE l.registration_no = o.registration_no AND s.day < o.registered_on
                                 AND l.link IN ('director', 'phone'))""",
        detail="registered after a sanctioned organisation sharing its director or phone",
        threshold=0.5,
        sources=("003:2799", "003:5020"),
        data=("organisation", "enforcement_outcome"),
    ),
    Indicator(
        id="E18",
        entity="employer",
        unit="links to sanctioned organisations (count)",
        direction=+1,
        kind="count",
        sql="""SELECT l.registration_no AS entity_id, count(DISTINCT l.other_id) AS num, 1 AS den
                 FROM org_links l JOIN sanctioned s ON s.employer_id = l.other_id GROUP BY 1""",
        detail="sanctioned organisations sharing its address, phone or director: {num:.0f}",
        threshold=0.5,
        sources=("003:5943-5963",),
        data=("organisation", "enforcement_outcome"),
    ),
    Indicator(
        id="E19",
        entity="employer",
        unit="share of sponsored workers overstaying",
        direction=+1,
        kind="share",
        sql=_share("stays", "employer_id", "overstay"),
        detail="{num:.0f} of {den:.0f} sponsored workers whose visa ended did not leave; "
        "peers (all employers) {peer:.1%}",
        threshold="p90",
        sources=("003:1939",),
        data=("visa_application", "border_crossing"),
    ),
    Indicator(
        id="E20",
        entity="employer",
        unit="not computed",
        direction=0,
        kind="value",
        sql=None,
        detail="",
        threshold=0.0,
        sources=("003:3065-3071",),
        data=(),
        not_computable="A caution, not an indicator: wages found paid at an inspection are not evidence "
        "that there is no exploitation, so no feature gives them negative weight.",
    ),
    # ------------------------------------------------------------------ recruiters
    Indicator(
        id="R01",
        entity="recruiter",
        unit="no valid licence (0 or 1)",
        direction=+1,
        kind="flag",
        sql="""SELECT recruiter_id AS entity_id, CAST(NOT licence_valid AS DOUBLE) AS num, 1 AS den
                 FROM recruiters""",
        detail="no valid licence on the day scored (unregistered, expired, suspended or revoked)",
        threshold=0.5,
        sources=("003:4358", "003:5020"),
        data=("recruiter", "visa_application", "labour_inspection"),
    ),
    Indicator(
        id="R02",
        entity="recruiter",
        unit="fee charged to workers (USD)",
        direction=+1,
        kind="value",
        sql="""SELECT r.recruiter_id AS entity_id,
                        greatest(coalesce(any_value(r.declared_fee), 0), coalesce(median(f.fee), 0)) AS num,
                        count(f.fee) AS den
                 FROM recruiters r LEFT JOIN fees f USING (recruiter_id) GROUP BY 1""",
        detail="fee charged to workers about USD {num:,.0f}, the higher of its declared fee and the median found at "
        "inspections of employers it supplies (fees found: {den:.0f}); legal cap USD 500",
        threshold=500.0,
        sources=("003:688", "003:2309", "003:5172"),
        data=("recruiter", "labour_inspection"),
    ),
    Indicator(
        id="R03",
        entity="recruiter",
        unit="share of employers placed with found deceiving workers",
        direction=+1,
        kind="share",
        sql="""SELECT p.recruiter_id AS entity_id, count_if(d.employer_id IS NOT NULL) AS num, count(*) AS den
                 FROM placements p LEFT JOIN deceived d USING (employer_id) GROUP BY 1""",
        detail="{num:.0f} of {den:.0f} employers it placed workers with were found deceiving or underpaying "
        "them; peers (all recruiters) {peer:.1%}",
        threshold="p90",
        sources=("001:88", "003:704", "003:4150"),
        data=("visa_application", "labour_inspection"),
    ),
    Indicator(
        id="R04",
        entity="recruiter",
        unit="share of applications",
        direction=+1,
        kind="share",
        sql=_share(
            "va",
            "recruiter_id",
            "visa_class = 'entertainer' OR occupation IN ('hostess', 'dancer', 'model', 'entertainer')",
        ),
        detail="{num:.0f} of {den:.0f} applications for hostess, dancer, model or entertainer work; "
        "peers (all recruiters) {peer:.1%}",
        threshold="p90",
        sources=("001:13", "001:88", "002:18", "003:3495"),
        data=("visa_application",),
    ),
    Indicator(
        id="R05",
        entity="recruiter",
        unit="distinct visa posts used per destination country",
        direction=+1,
        kind="value",
        sql="""SELECT recruiter_id AS entity_id, avg(n) AS num, sum(a) AS den FROM (
                   SELECT recruiter_id, worksite_country, count(DISTINCT post_id) AS n, count(*) AS a FROM va
                   WHERE recruiter_id IS NOT NULL GROUP BY ALL) GROUP BY 1 HAVING sum(a) >= 3""",
        detail="its applications went to {value:.1f} visa posts per destination country on average "
        "(applications: {den:.0f}); peers (median recruiter) {peer:.1f}",
        threshold="p90",
        sources=("003:1943",),
        data=("visa_application",),
    ),
    Indicator(
        id="R06",
        entity="recruiter",
        unit="share of applications",
        direction=+1,
        kind="share",
        sql=_share("va", "recruiter_id", "visa_class IN ('tourist', 'business')", "recruiter_places_work"),
        detail="{num:.0f} of {den:.0f} applications of a labour intermediary were on visitor visas; "
        "peers (all recruiters) {peer:.1%}",
        threshold="p90",
        sources=("003:1945", "003:5891"),
        data=("visa_application",),
    ),
    Indicator(
        id="R07",
        entity="recruiter",
        unit="share of applications",
        direction=+1,
        kind="share",
        sql=_share("va", "recruiter_id", "document_check_flag"),
        detail="{num:.0f} of {den:.0f} applications were flagged by document checks; peers (all recruiters) {peer:.1%}",
        threshold="p90",
        sources=("003:1489", "003:1957", "003:2089-2093"),
        data=("visa_application",),
    ),
    Indicator(
        id="R08",
        entity="recruiter",
        unit="share of employers placed with later found exploitative",
        direction=+1,
        kind="share",
        sql="""SELECT p.recruiter_id AS entity_id, count_if(b.employer_id IS NOT NULL) AS num, count(*) AS den
                 FROM placements p LEFT JOIN bad_employers b USING (employer_id) GROUP BY 1""",
        detail="{num:.0f} of {den:.0f} employers it placed workers with were referred or sanctioned for "
        "forced labour; peers (all recruiters) {peer:.1%}",
        threshold="p90",
        sources=("003:688",),
        data=("visa_application", "labour_inspection", "enforcement_outcome"),
    ),
    Indicator(
        id="R09",
        entity="recruiter",
        unit="front-company signals (count of 3)",
        direction=+1,
        kind="value",
        sql="""SELECT recruiter_id AS entity_id,
                        CAST(young AS INT) + CAST(agency_type IN ('travel_agency', 'model_agency',
                             'marriage_agency') AS INT) + CAST(shares_contact AS INT) AS num, 1 AS den
                 FROM recruiters WHERE registered""",
        detail="{num:.0f} of 3 front-company signals (registered under two years ago; travel, model or "
        "marriage agency acting as recruiter; contacts shared with another registrant)",
        threshold=1.5,
        sources=("000:411", "003:670", "003:1958", "003:2799"),
        data=("recruiter",),
    ),
    Indicator(
        id="R10",
        entity="recruiter",
        unit="complaints (count)",
        direction=+1,
        kind="count",
        sql="""SELECT entity_ref AS entity_id, count(*) AS num, 1 AS den FROM eo
                 WHERE entity_type = 'recruiter' AND kind = 'complaint' GROUP BY 1""",
        detail="complaints from workers, NGOs or unions: {num:.0f}; peers (median recruiter) {peer:g}",
        threshold="p90",
        sources=("003:5002",),
        data=("enforcement_outcome",),
    ),
    Indicator(
        id="R11",
        entity="recruiter",
        unit="share of placed workers overstaying",
        direction=+1,
        kind="share",
        sql=_share("stays", "recruiter_id", "overstay"),
        detail="{num:.0f} of {den:.0f} workers it placed whose visa ended did not leave; "
        "peers (all recruiters) {peer:.1%}",
        threshold="p90",
        sources=("003:1939",),
        data=("visa_application", "border_crossing"),
    ),
    Indicator(
        id="R12",
        entity="recruiter",
        unit="share of applications at desks approving flagged files",
        direction=+1,
        kind="share",
        sql=_share("va", "recruiter_id", "desk_flag_rate_high"),
        detail="{num:.0f} of {den:.0f} applications went to desks that often approve files with failed document "
        "checks; peers (all recruiters) {peer:.1%}",
        threshold="p90",
        sources=("003:1471", "003:1491"),
        data=("visa_application",),
    ),
    Indicator(
        id="R13",
        entity="recruiter",
        unit="share of entertainment placements aged under 25",
        direction=+1,
        kind="share",
        sql=_share(
            "va",
            "recruiter_id",
            "applicant_age_band IN ('<18', '18-24')",
            "visa_class = 'entertainer' AND applicant_age_band IS NOT NULL",
        ),
        detail="{num:.0f} of {den:.0f} entertainment placements were under 25 (age is a sensitive attribute: the "
        "model report's fairness section shows how this signal falls across groups)",
        threshold="p90",
        sources=("003:714",),
        data=("visa_application",),
        sensitive=True,
    ),
    Indicator(
        id="R14",
        entity="recruiter",
        unit="travellers per escort",
        direction=+1,
        kind="value",
        sql="""SELECT recruiter_id AS entity_id, avg(n) AS num, count(*) AS den FROM (
                   SELECT recruiter_id, companion_id, count(DISTINCT traveller_id) AS n FROM bc
                   WHERE recruiter_id IS NOT NULL AND companion_id IS NOT NULL GROUP BY ALL) GROUP BY 1""",
        detail="its travellers' escorts each crossed with {value:.1f} different travellers; "
        "peers (median recruiter) {peer:.1f}",
        threshold="p90",
        sources=("003:1898", "003:2721"),
        data=("border_crossing", "visa_application"),
    ),
    # ------------------------------------------------------------------ visa desks
    Indicator(
        id="V01",
        entity="visa_desk",
        unit="approval rate above peers with the same case mix",
        direction=+1,
        kind="value",
        sql="""WITH mix AS (SELECT post_id, visa_class, avg(approved::INT) AS m FROM va WHERE decided GROUP BY ALL)
                 SELECT desk_id AS entity_id, avg(approved::INT - mix.m) AS num, count(*) AS den
                 FROM va JOIN mix USING (post_id, visa_class) WHERE decided GROUP BY 1""",
        detail="approves {value:.1%} of its decisions more than its post's rate for the same visa classes would "
        "(decisions: {den:.0f})",
        threshold="p90",
        sources=("003:1943", "003:1471"),
        data=("visa_application",),
    ),
    Indicator(
        id="V02",
        entity="visa_desk",
        unit="share of approvals",
        direction=+1,
        kind="share",
        sql=_share("va", "desk_id", "document_check_flag", "approved"),
        detail="{num:.0f} of {den:.0f} approvals despite failed document checks; peers (all visa desks) {peer:.1%}",
        threshold="p90",
        sources=("003:1471", "003:1501"),
        data=("visa_application",),
    ),
    Indicator(
        id="V03",
        entity="visa_desk",
        unit="over-representation of one intermediary",
        direction=+1,
        kind="value",
        sql="""WITH a AS (SELECT post_id, desk_id, recruiter_id FROM va WHERE approved),
                      dn AS (SELECT post_id, desk_id, count(*) AS n FROM a GROUP BY ALL),
                      desk AS (SELECT post_id, desk_id, n / sum(n) OVER (PARTITION BY post_id) AS share FROM dn),
                      rn AS (SELECT post_id, recruiter_id, desk_id, count(*) AS k FROM a
                             WHERE recruiter_id IS NOT NULL GROUP BY ALL),
                      rec AS (SELECT post_id, recruiter_id, desk_id,
                                     k / sum(k) OVER (PARTITION BY post_id, recruiter_id) AS share,
                                     sum(k) OVER (PARTITION BY post_id, recruiter_id) AS n FROM rn)
                 SELECT desk.desk_id AS entity_id, max(coalesce(rec.share, 0) - desk.share) AS num, 1 AS den
                 FROM desk LEFT JOIN rec ON rec.post_id = desk.post_id AND rec.desk_id = desk.desk_id
                      AND rec.n >= 5 GROUP BY 1""",
        detail="its share of one intermediary's approvals at the post is {value:.0%} above, in absolute terms, its "
        "share of all approvals there (intermediaries with 5 or more approvals)",
        threshold="p90",
        sources=("003:1489", "003:1491", "003:2799"),
        data=("visa_application",),
    ),
    Indicator(
        id="V04",
        entity="visa_desk",
        unit="share of applications",
        direction=+1,
        kind="share",
        sql=_share("va", "desk_id", "expedited"),
        detail="{num:.0f} of {den:.0f} applications expedited out of queue; peers (all visa desks) {peer:.1%}",
        threshold="p90",
        sources=("003:1499",),
        data=("visa_application",),
    ),
    Indicator(
        id="V05",
        entity="visa_desk",
        unit="share of decisions",
        direction=+1,
        kind="share",
        sql=_share("va", "desk_id", "hour(dec_ts) < 8 OR hour(dec_ts) >= 18", "decided"),
        detail="{num:.0f} of {den:.0f} decisions taken outside office hours; peers (all visa desks) {peer:.1%}",
        threshold="p90",
        sources=("003:1471",),
        data=("visa_application",),
    ),
    Indicator(
        id="V06",
        entity="visa_desk",
        unit="share of decisions",
        direction=+1,
        kind="share",
        sql=_share("va", "desk_id", "refusal_overturned", "decided"),
        detail="{num:.0f} of {den:.0f} decisions overturned an earlier refusal; peers (all visa desks) {peer:.2%}",
        threshold="p90",
        sources=("003:1471",),
        data=("visa_application",),
    ),
    Indicator(
        id="V07",
        entity="visa_desk",
        unit="speed-up for the fastest intermediary",
        direction=+1,
        kind="value",
        sql="""WITH p AS (SELECT desk_id, recruiter_id, date_diff('hour', sub_ts, dec_ts) / 24.0 AS days FROM va
                            WHERE decided AND dec_ts >= sub_ts),
                      desk AS (SELECT desk_id, avg(days) AS m FROM p GROUP BY 1),
                      rec AS (SELECT desk_id, recruiter_id, avg(days) AS m FROM p WHERE recruiter_id IS NOT NULL
                              GROUP BY ALL HAVING count(*) >= 5)
                 SELECT rec.desk_id AS entity_id, 1 - min(rec.m) / greatest(any_value(desk.m), 0.01) AS num,
                        1 AS den FROM rec JOIN desk USING (desk_id) GROUP BY 1""",
        detail="one intermediary's files (5 or more) are decided {value:.0%} faster than the desk's average",
        threshold="p90",
        sources=("003:1499",),
        data=("visa_application",),
    ),
    Indicator(
        id="V08",
        entity="visa_desk",
        unit="applications per desk at the post",
        direction=+1,
        kind="value",
        sql="""WITH post AS (SELECT post_id, count(*) / count(DISTINCT desk_id) AS load FROM va GROUP BY 1)
                 SELECT DISTINCT va.desk_id AS entity_id, post.load AS num, 1 AS den
                 FROM va JOIN post USING (post_id)""",
        detail="applications per desk at its post: {value:,.0f}; peers (median visa desk) {peer:,.0f}",
        threshold="p90",
        sources=("003:1491",),
        data=("visa_application",),
    ),
    Indicator(
        id="V09",
        entity="visa_desk",
        unit="share of approved applicants later found exploited or overstaying",
        direction=+1,
        kind="share",
        sql="""SELECT v.desk_id AS entity_id,
                        count_if(b.employer_id IS NOT NULL OR coalesce(s.overstay, false)) AS num, count(*) AS den
                 FROM va v LEFT JOIN bad_employers b USING (employer_id) LEFT JOIN stays s USING (application_id)
                 WHERE v.approved GROUP BY 1""",
        detail="{num:.0f} of {den:.0f} approved applicants were later found at an exploitative employer or "
        "overstaying; peers (all visa desks) {peer:.1%}",
        threshold="p90",
        sources=("003:1939",),
        data=("visa_application", "border_crossing", "labour_inspection", "enforcement_outcome"),
    ),
    # ------------------------------------------------------------------ border posts (post + officer)
    Indicator(
        id="B01",
        entity="border_post",
        unit="share of flagged travellers not referred",
        direction=+1,
        kind="share",
        sql=_share("bc", "officer_key", "NOT coalesce(secondary_referral, false)", "document_check_result = 'flagged'"),
        detail="{num:.0f} of {den:.0f} travellers with flagged documents were not referred to secondary "
        "inspection; peers (all border officers) {peer:.1%}",
        threshold="p90",
        sources=("001:244", "003:635"),
        data=("border_crossing",),
    ),
    Indicator(
        id="B02",
        entity="border_post",
        unit="share of crossings with a repeat escort",
        direction=+1,
        kind="share",
        sql="""WITH c AS (SELECT officer_key, companion_id, count(DISTINCT traveller_id) AS n FROM bc
                            WHERE companion_id IS NOT NULL GROUP BY ALL)
                 SELECT b.officer_key AS entity_id, count_if(coalesce(c.n >= 2, false)) AS num, count(*) AS den
                 FROM bc b LEFT JOIN c USING (officer_key, companion_id) GROUP BY 1""",
        detail="{num:.0f} of {den:.0f} crossings with an escort who passed this officer with other travellers; "
        "peers (all border officers) {peer:.2%}",
        threshold="p90",
        sources=("003:1898", "003:2721"),
        data=("border_crossing",),
    ),
    Indicator(
        id="B03",
        entity="border_post",
        unit="anomalous night admissions per admission",
        direction=+1,
        kind="share",
        sql=_share("bc", "officer_key", "shift = 'night' AND anomalous", "admitted"),
        detail="{num:.0f} of {den:.0f} admissions were of travellers with flagged documents on night shifts; "
        "peers (all border officers) {peer:.2%}",
        threshold="p90",
        sources=("003:635",),
        data=("border_crossing",),
    ),
    Indicator(
        id="B04",
        entity="border_post",
        unit="share of admissions",
        direction=+1,
        kind="share",
        sql=_share("bc", "officer_key", "coalesce(document_later_found_fraudulent, false)", "admitted"),
        detail="{num:.0f} of {den:.0f} admissions on documents later found fraudulent; "
        "peers (all border officers) {peer:.2%}",
        threshold="p90",
        sources=("003:1501", "003:2089"),
        data=("border_crossing",),
    ),
    Indicator(
        id="B05",
        entity="border_post",
        unit="travellers per vehicle",
        direction=+1,
        kind="value",
        sql="""WITH v AS (SELECT vehicle_id, count(DISTINCT traveller_id) AS n FROM bc WHERE vehicle_id IS NOT NULL
                            GROUP BY 1)
                 SELECT b.officer_key AS entity_id, avg(v.n) AS num, count(*) AS den FROM bc b JOIN v USING (vehicle_id)
                 GROUP BY 1""",
        detail="vehicles it cleared carried {value:.1f} different travellers each on average, over all their "
        "crossings; peers (median border officer) {peer:.1f}",
        threshold="p90",
        sources=("003:1974", "003:2745"),
        data=("border_crossing",),
    ),
    Indicator(
        id="B06",
        entity="border_post",
        unit="share of admissions",
        direction=+1,
        kind="share",
        # A semi join counts each admission once, however many refusals match it (as a correlated EXISTS would,
        # at a fraction of its cost on millions of crossings).
        sql="""WITH refused AS (SELECT traveller_id, officer_key, ts FROM bc WHERE NOT admitted AND direction = 'in'),
                      admitted AS (SELECT officer_key, traveller_id, ts FROM bc WHERE admitted AND direction = 'in'),
                      after_refusal AS (
                          SELECT a.officer_key, count(*) AS n FROM admitted a SEMI JOIN refused r
                              ON r.traveller_id = a.traveller_id AND r.officer_key <> a.officer_key
                             AND abs(epoch(a.ts) - epoch(r.ts)) <= 2 * 86400
                          GROUP BY 1)
                 SELECT d.officer_key AS entity_id, coalesce(h.n, 0) AS num, d.den
                 FROM (SELECT officer_key, count(*) AS den FROM admitted GROUP BY 1) d
                 LEFT JOIN after_refusal h USING (officer_key)""",
        detail="{num:.0f} of {den:.0f} admissions were of travellers refused by another officer within two days; "
        "peers (all border officers) {peer:.2%}",
        threshold="p90",
        sources=("003:635",),
        data=("border_crossing",),
    ),
    Indicator(
        id="B07",
        entity="border_post",
        unit="share of admitted minors",
        direction=+1,
        kind="share",
        sql=_share(
            "bc",
            "officer_key",
            "NOT coalesce(guardian_present, true) OR NOT coalesce(destination_address_verified, true)",
            "admitted AND traveller_age_band = '<18'",
        ),
        detail="{num:.0f} of {den:.0f} admitted minors had no guardian or an unverified address; "
        "peers (all border officers) {peer:.1%}",
        threshold="p90",
        sources=("003:2709",),
        data=("border_crossing",),
        sensitive=True,
    ),
    # ------------------------------------------------------------------ labour inspectors
    Indicator(
        id="I01",
        entity="inspector",
        unit="share of visits at high-risk worksites finding nothing",
        direction=+1,
        kind="share",
        sql=_share("li", "inspector_id", "NOT any_finding", "high_risk_site"),
        detail="{num:.0f} of {den:.0f} visits to high-risk worksites found nothing; peers (all inspectors) {peer:.1%}",
        threshold="p90",
        sources=("003:1320-1341", "003:1403"),
        data=("labour_inspection", "enforcement_outcome"),
    ),
    Indicator(
        id="I02",
        entity="inspector",
        unit="share of clean visits contradicted soon after",
        direction=+1,
        kind="share",
        sql="""SELECT a.inspector_id AS entity_id,
                        count_if(EXISTS (SELECT 1 FROM li b WHERE b.employer_id = a.employer_id
                                         AND b.inspector_id <> a.inspector_id AND b.any_finding
                                         AND b.day > a.day AND b.day <= a.day + INTERVAL 90 DAY)) AS num,
                        count(*) AS den
                 FROM li a WHERE NOT a.any_finding GROUP BY 1""",
        detail="{num:.0f} of {den:.0f} clean visits were followed within 90 days by another inspector's findings; "
        "peers (all inspectors) {peer:.1%}",
        threshold="p90",
        sources=("003:1367", "003:1403"),
        data=("labour_inspection",),
    ),
    Indicator(
        id="I03",
        entity="inspector",
        unit="share of visits at high-risk worksites announced",
        direction=+1,
        kind="share",
        sql=_share("li", "inspector_id", "announced", "high_risk_site AND announced IS NOT NULL"),
        detail="{num:.0f} of {den:.0f} visits to high-risk worksites were announced in advance; "
        "peers (all inspectors) {peer:.1%}",
        threshold="p90",
        sources=("003:1403",),
        data=("labour_inspection", "enforcement_outcome"),
    ),
)


# Sponsors' petitions as a labour ministry decided them (record type labour_certification, e.g. the US DOL H-2A /
# H-2B disclosure files): the views ``lc`` (one row per petition in the window, ``employer_id`` resolved by name,
# ``agent_key`` the name key of its law firm or else its agent, ``age_days`` days before the as-of date) and
# ``lc_wage`` (``below``: the offered hourly wage under 95% of the median of the same region, programme and year).
LABOUR_CERTIFICATION_INDICATORS: tuple[Indicator, ...] = (
    Indicator(
        id="L01",
        entity="employer",
        unit="share of petitions offering a wage below the peers' median",
        direction=+1,
        kind="share",
        sql="SELECT employer_id AS entity_id, count_if(below) AS num, count(*) AS den FROM lc_wage "
        "WHERE employer_id IS NOT NULL GROUP BY 1",
        detail="{num:.0f} of {den:.0f} petitions offered an hourly wage under 95% of the median of petitions "
        "for the same region, programme and year; peers (all employers) {peer:.1%}",
        threshold=0.5,
        sources=("003:4149",),
        data=("labour_certification",),
    ),
    Indicator(
        id="L02",
        entity="employer",
        unit="share of workers requested on certified petitions that were not certified",
        direction=+1,
        kind="share",
        sql="SELECT employer_id AS entity_id, "
        """sum(workers_requested - least(workers_certified, workers_requested)) AS num,
                 sum(workers_requested) AS den FROM lc
                 WHERE employer_id IS NOT NULL AND decision = 'approved' AND workers_requested > 0
                   AND workers_certified IS NOT NULL GROUP BY 1""",
        detail="{num:.0f} of {den:.0f} workers requested on certified petitions were not certified; "
        "peers (all employers) {peer:.1%}",
        threshold=0.25,
        sources=("003:2799",),
        data=("labour_certification",),
    ),
    Indicator(
        id="L03",
        entity="employer",
        unit="share of decided petitions denied",
        direction=+1,
        kind="share",
        sql=_share("lc", "employer_id", "decision = 'refused'", "decision IN ('approved', 'refused', 'withdrawn')"),
        detail="{num:.0f} of {den:.0f} decided petitions were denied; peers (all employers) {peer:.1%}",
        threshold=0.0,
        sources=("003:2799",),
        data=("labour_certification",),
    ),
    Indicator(
        id="L04",
        entity="employer",
        unit="share of decided petitions withdrawn",
        direction=+1,
        kind="share",
        sql=_share("lc", "employer_id", "decision = 'withdrawn'", "decision IN ('approved', 'refused', 'withdrawn')"),
        detail="{num:.0f} of {den:.0f} decided petitions were withdrawn; peers (all employers) {peer:.1%}",
        threshold=0.0,
        sources=("003:2799",),
        data=("labour_certification",),
    ),
    Indicator(
        id="L05",
        entity="employer",
        unit="files as a labour or job contractor (0 or 1)",
        direction=+1,
        kind="flag",
        sql="SELECT employer_id AS entity_id, max(CAST(labour_contractor AS DOUBLE)) AS num, 1 AS den FROM lc "
        "WHERE employer_id IS NOT NULL AND labour_contractor IS NOT NULL GROUP BY 1",
        detail="filed as a labour or job contractor, supplying workers to other farms or firms",
        threshold=0.5,
        sources=("003:4990", "003:5068"),
        data=("labour_certification",),
    ),
    Indicator(
        id="L06",
        entity="employer",
        unit="labour contractor missing from the contractor register in force (0 or 1)",
        direction=+1,
        kind="flag",
        # Only once a contractor register is in force (a certificate started before the as-of date): before it
        # every contractor would count as unregistered and repeat L05.
        sql="""SELECT employer_id AS entity_id,
                 CAST(NOT bool_or(sponsor_key IN (SELECT name_key FROM contractor_register)) AS DOUBLE) AS num,
                 1 AS den FROM lc
                 WHERE employer_id IS NOT NULL AND labour_contractor AND EXISTS (SELECT 1 FROM contractor_register)
                 GROUP BY 1""",
        detail="files as a labour contractor and no labour contractor certificate under its name "
        "started before the day scored",
        threshold=0.5,
        sources=("003:4990", "003:5020"),
        data=("labour_certification", "recruiter"),
    ),
    Indicator(
        id="L07",
        entity="employer",
        unit="share of its agents' other clients sanctioned before",
        direction=+1,
        kind="share",
        sql="""WITH pairs AS (SELECT DISTINCT agent_key, employer_id FROM lc
                               WHERE agent_key IS NOT NULL AND employer_id IS NOT NULL),
                      other AS (SELECT DISTINCT p.employer_id, q.employer_id AS other_id FROM pairs p
                                JOIN pairs q ON q.agent_key = p.agent_key AND q.employer_id <> p.employer_id)
                 SELECT employer_id AS entity_id,
                        count_if(other_id IN (SELECT employer_id FROM sanctioned)) AS num, count(*) AS den
                 FROM other GROUP BY 1""",
        detail="{num:.0f} of the {den:.0f} other clients of its agents or attorneys were debarred or sanctioned "
        "before; peers (all employers) {peer:.1%}",
        threshold=0.0,
        sources=("003:688",),
        data=("labour_certification", "enforcement_outcome"),
    ),
    Indicator(
        id="L08",
        entity="employer",
        unit="regions its petitions place workers in",
        direction=+1,
        kind="value",
        sql="SELECT employer_id AS entity_id, count(DISTINCT worksite_region) AS num, count(*) AS den FROM lc "
        "WHERE employer_id IS NOT NULL AND worksite_region IS NOT NULL GROUP BY 1",
        detail="states or regions its petitions place workers in: {value:.0f}; peers (median employer) {peer:.0f}",
        threshold=1.0,
        sources=("003:5068",),
        data=("labour_certification",),
    ),
    Indicator(
        id="L09",
        entity="employer",
        unit="workers requested in the last year per worker requested the year before",
        direction=+1,
        kind="value",
        sql="""SELECT employer_id AS entity_id,
                 coalesce(sum(workers) FILTER (WHERE age_days <= 365), 0)
                   / sum(workers) FILTER (WHERE age_days > 365 AND age_days <= 730) AS num,
                 sum(workers) FILTER (WHERE age_days > 365 AND age_days <= 730) AS den
                 FROM (SELECT employer_id, age_days, coalesce(workers_requested, workers_certified, 0) AS workers
                       FROM lc WHERE employer_id IS NOT NULL)
                 GROUP BY 1 HAVING sum(workers) FILTER (WHERE age_days > 365 AND age_days <= 730) > 0""",
        detail="workers requested in the last year: {value:.1f} times the {den:,.0f} requested the year before; "
        "peers (median employer) {peer:.1f}",
        threshold=2.0,
        sources=("003:2799",),
        data=("labour_certification",),
    ),
    Indicator(
        id="L10",
        entity="employer",
        unit="workers certified on petitions tied to this employer",
        direction=+1,
        kind="count",
        sql="SELECT employer_id AS entity_id, sum(workers_certified) AS num, count(*) AS den FROM lc "
        "WHERE employer_id IS NOT NULL AND decision = 'approved' AND workers_certified IS NOT NULL GROUP BY 1",
        detail="workers certified on visas tied to this employer: {num:,.0f} (petitions: {den:.0f}); "
        "peers (median employer) {peer:,.0f}",
        threshold="p90",
        sources=("003:5172",),
        data=("labour_certification",),
    ),
    Indicator(
        id="L11",
        entity="employer",
        unit="sanctions under a name possibly the same as its own (count)",
        direction=+1,
        kind="count",
        # possible_links: names entity resolution found possibly the same as the employer's, below its merge
        # threshold (never merged); outcome_name_keys: the name keys of each employer outcome (features.build).
        sql="""SELECT p.entity_id, count(DISTINCT k.record_id) AS num, 1 AS den
                 FROM possible_links p JOIN outcome_name_keys k ON k.name_key = p.name_key
                 JOIN eo e ON e.record_id = k.record_id
                 WHERE p.kind = 'employer' AND e.entity_type = 'employer'
                   AND e.kind IN ('substantiated_forced_labour', 'debarment', 'conviction')
                 GROUP BY 1""",
        detail="debarments or sanctions of an employer whose name may be a spelling of this one's (possibly the "
        "same, not merged): {num:.0f}",
        threshold=0.5,
        sources=("003:2799",),
        data=("labour_certification", "enforcement_outcome"),
    ),
    # Agents, attorneys and law firms filing the petitions (recruiter entities 'agent:' + name key).
    Indicator(
        id="L12",
        entity="recruiter",
        unit="share of its client employers sanctioned before",
        direction=+1,
        kind="share",
        sql="""WITH clients AS (SELECT DISTINCT agent_id, employer_id FROM lc
                                  WHERE agent_id IS NOT NULL AND employer_id IS NOT NULL)
                 SELECT agent_id AS entity_id, count_if(employer_id IN (SELECT employer_id FROM sanctioned)) AS num,
                        count(*) AS den FROM clients GROUP BY 1""",
        detail="{num:.0f} of the {den:.0f} employers it filed petitions for were debarred or sanctioned before; "
        "peers (all recruiters) {peer:.1%}",
        threshold=0.0,
        sources=("003:688",),
        data=("labour_certification", "enforcement_outcome"),
    ),
    Indicator(
        id="L13",
        entity="recruiter",
        unit="share of its client employers filing as labour contractors",
        direction=+1,
        kind="share",
        sql="""WITH contractors AS (SELECT employer_id FROM lc GROUP BY 1
                                      HAVING bool_or(coalesce(labour_contractor, false))),
                      clients AS (SELECT DISTINCT agent_id, employer_id FROM lc
                                  WHERE agent_id IS NOT NULL AND employer_id IS NOT NULL)
                 SELECT agent_id AS entity_id, count_if(employer_id IN (SELECT employer_id FROM contractors)) AS num,
                        count(*) AS den FROM clients GROUP BY 1""",
        detail="{num:.0f} of the {den:.0f} employers it filed petitions for file as labour contractors; "
        "peers (all recruiters) {peer:.1%}",
        threshold=0.0,
        sources=("003:4990", "003:5068"),
        data=("labour_certification",),
    ),
    Indicator(
        id="L14",
        entity="recruiter",
        unit="share of the petitions it filed that were denied",
        direction=+1,
        kind="share",
        sql=_share("lc", "agent_id", "decision = 'refused'", "decision IN ('approved', 'refused', 'withdrawn')"),
        detail="{num:.0f} of the {den:.0f} decided petitions it filed were denied; peers (all recruiters) {peer:.1%}",
        threshold=0.0,
        sources=("003:2799",),
        data=("labour_certification",),
    ),
    # Recruiting organisations abroad that sponsors name on their petitions (recruiter entities 'abroad:' + name
    # key; view ``pr``: one row per individual recruiter named, ``staff_key`` the person's pseudonymised name).
    Indicator(
        id="L15",
        entity="recruiter",
        unit="other recruiting organisations abroad naming the same individual recruiters",
        direction=+1,
        kind="count",
        sql="""WITH staff AS (SELECT DISTINCT recruiter_id, staff_key FROM pr WHERE staff_key IS NOT NULL)
                 SELECT a.recruiter_id AS entity_id, count(DISTINCT b.recruiter_id) AS num,
                        count(DISTINCT a.staff_key) AS den
                 FROM staff a LEFT JOIN staff b ON b.staff_key = a.staff_key AND b.recruiter_id <> a.recruiter_id
                 GROUP BY 1""",
        detail="other recruiting organisations abroad that name one of its individual recruiters (a renamed or "
        "related organisation): {num:.0f} (individual recruiters it names: {den:.0f}); peers (median recruiter) "
        "{peer:.0f}",
        threshold=0.0,
        sources=("003:1958", "003:2799"),
        data=("petition_recruiter",),
    ),
    Indicator(
        id="L16",
        entity="recruiter",
        unit="employers sanctioned before among the clients of the agent or law firm of the same name",
        direction=+1,
        kind="count",
        # An organisation abroad is the H-2 agent or law firm whose name has the same key (``lc.agent_key``).
        sql="""WITH orgs AS (SELECT DISTINCT recruiter_id, name_key FROM pr),
                      clients AS (SELECT DISTINCT agent_key, employer_id FROM lc
                                  WHERE agent_key IS NOT NULL AND employer_id IS NOT NULL)
                 SELECT o.recruiter_id AS entity_id,
                        count_if(c.employer_id IN (SELECT employer_id FROM sanctioned)) AS num,
                        count(*) AS den
                 FROM orgs o JOIN clients c ON c.agent_key = o.name_key GROUP BY 1""",
        detail="{num:.0f} of the {den:.0f} employers it filed petitions for as the agent or law firm of the same name "
        "were debarred or sanctioned before",
        threshold=0.0,
        sources=("003:688",),
        data=("petition_recruiter", "labour_certification", "enforcement_outcome"),
    ),
)


def _network(ind_id: str, entity: EntityType, what: str) -> Indicator:
    node = "employer" if entity == "employer" else "recruiter"
    return Indicator(
        id=ind_id,
        entity=entity,
        unit="links in the employer-recruiter network (degree)",
        direction=+1,
        kind="value",
        sql=f"SELECT node_id AS entity_id, degree AS num, 1 AS den FROM network_nodes WHERE node_type = '{node}'",
        detail=what + " linked to it through placements or shared contacts: {value:.0f}; peers (median " + node + ") "
        "{peer:.0f}",
        threshold="p90",
        sources=("003:5943-5963",),
        data=("visa_application", "organisation"),
    )


# Graph features of the network table (features/network.py): not rows of INDICATORS.md. Sanctions are counted
# only where a reviewer can check them against the entity's own links (E13, E17, E18, R08, V09, L07, L12, L16), never
# over a whole connected component: such a count depends on entities many links away, cannot be contested by the
# entity, jumps when one link joins two components, and tells the models where enforcement already went.
NETWORK_INDICATORS: tuple[Indicator, ...] = (
    _network("G01", "employer", "recruiters or organisations"),
    _network("G03", "recruiter", "employers"),
)
# The detail of a shrunk share says the rate its feature value holds after the raw "num of den", with as many
# decimals as the peers' rate beside it (so that "peers 0.15%" is not followed by a rate rounded to "0.2%").
SHRUNK_DETAIL = "; adjusted toward the peers for its number of cases: {value:.1%}"


def _detail_with_shrunk_rate(ind: Indicator) -> Indicator:
    if not ind.shrunk:
        return ind
    shrunk = SHRUNK_DETAIL.replace("{value:.1%}", "{value:.2%}") if "{peer:.2%}" in ind.detail else SHRUNK_DETAIL
    return replace(ind, detail=ind.detail + shrunk)


INDICATORS = tuple(
    _detail_with_shrunk_rate(i) for i in INDICATORS + LABOUR_CERTIFICATION_INDICATORS + NETWORK_INDICATORS
)

BY_ID: dict[str, Indicator] = {i.id: i for i in INDICATORS}


def indicator_of(column: str) -> str:
    """The indicator id of a feature column ('E01_w1095' -> 'E01'); a name without a window is returned whole."""
    return column.split(WINDOW_SEPARATOR, 1)[0]


def for_entity(entity: EntityType) -> list[Indicator]:
    return [i for i in INDICATORS if i.entity == entity and i.sql is not None]


def monotone_constraints(entity: EntityType) -> list[int]:
    """LightGBM monotone constraints in feature-column order (features/build.py keeps that order)."""
    return [i.direction for i in for_entity(entity)]


def feature_columns(entity: EntityType) -> list[str]:
    return [i.feature for i in for_entity(entity)]


def sensitive_indicators() -> list[Indicator]:
    return [i for i in INDICATORS if i.sensitive]

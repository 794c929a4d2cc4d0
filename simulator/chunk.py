"""One chunk of the world: a block of employers with their planted traits and every record they cause.

The generators run in a fixed order on the chunk's streams (simulator.chunk_context): employers,
inspections and outcomes, displacement, visa applications, border crossings, then the export tables in
the order their identifiers and name variants are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from simulator import text
from simulator.chunk_context import ChunkContext
from simulator.crossings import crossing_table, crossings
from simulator.displacement import displace
from simulator.employers import (
    Employers,
    draw_employers,
    employer_truth,
    move_to_successor,
    organisation_table,
    supply_chains,
)
from simulator.geography import DESTINATION_COUNTRIES, ORIGIN_COUNTRIES
from simulator.inspections import inspection_table, inspections_and_outcomes, recruiter_findings
from simulator.outcomes import employer_outcome_table
from simulator.scripts import DESTINATION_SCRIPT, ORIGIN_SCRIPT, script_index
from simulator.visas import visa_applications, visa_table, visa_truth


@dataclass
class ChunkResult:
    tables: dict[str, pa.Table]
    truth: dict[str, pa.Table]
    # Per recruiter: placements at employers with a forced-labour referral (for licence revocations).
    recruiter_findings: dict[int, int] = field(default_factory=dict)


class ChunkBuilder(ChunkContext):
    """The chunk's generators, each a step of ``build``."""

    def employers(self) -> Employers:
        return draw_employers(self)

    def inspections_and_outcomes(self, emp: Employers) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        return inspections_and_outcomes(self, emp)

    def displace(self, emp: Employers, outcomes: dict[str, np.ndarray]) -> Employers:
        return displace(self, emp, outcomes)

    def supply_chains(self, emp: Employers, reg_no: pa.Array) -> tuple[np.ndarray, pa.Array]:
        return supply_chains(self, emp, reg_no)

    def build(self) -> ChunkResult:
        a = self.a
        emp = self.employers()
        insp, outc = self.inspections_and_outcomes(emp)
        emp = self.displace(emp, outc)
        insp_e = move_to_successor(emp, insp["e"], insp["day"])
        v = visa_applications(self, emp)
        x = crossings(self, emp, v)
        reg_no = text.padded_ids("RN", emp.gid, 8)
        tier, supplies_to = self.supply_chains(emp, reg_no)
        emp_scripted = script_index(DESTINATION_SCRIPT, DESTINATION_COUNTRIES, emp.country) != 0
        rec_scripted = script_index(ORIGIN_SCRIPT, ORIGIN_COUNTRIES, a.rec_origin) != 0
        tables: dict[str, pa.Table] = {"organisation": organisation_table(self, emp, reg_no, supplies_to)}
        tables["visa_application"], app_ids, passports = visa_table(self, emp, v, reg_no, emp_scripted, rec_scripted)
        tables["border_crossing"] = crossing_table(self, x, app_ids, passports)
        tables["labour_inspection"] = inspection_table(self, emp, insp, insp_e, reg_no, emp_scripted, rec_scripted)
        tables["enforcement_outcome"] = employer_outcome_table(self, emp, outc, reg_no, emp_scripted)
        truth = {**employer_truth(a, emp, reg_no, tier), "visa_applications": visa_truth(v, app_ids, reg_no)}
        return ChunkResult(tables=tables, truth=truth, recruiter_findings=recruiter_findings(emp, insp, insp_e))

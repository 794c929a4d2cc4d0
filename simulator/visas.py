"""Visa applications of one chunk: sponsored ones from its employers' recruitment, unsponsored ones beside
them, the desk that decides each, and the ``visa_application`` export with its truth."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from data_contracts.contracts import SECTORS, VISA_CLASSES
from simulator import text
from simulator.chunk_context import ChunkContext
from simulator.columns import choice_rows, label, where
from simulator.draws import pick_in_group, toward
from simulator.employers import Employers, declared_hourly, move_to_successor
from simulator.geography import ORIGIN_COUNTRIES
from simulator.schema import AGE_BANDS

OCCUPATIONS = {
    0: ("farm worker", "harvester", "packer"),
    1: ("labourer", "mason", "carpenter"),
    2: ("sewing machinist", "cutter", "finisher"),
    3: ("domestic worker", "caregiver", "nanny"),
    4: ("cook", "waiter", "housekeeper"),
    5: ("deckhand", "fisher", "processor"),
    6: ("meat cutter", "line worker", "packer"),
    7: ("warehouse worker", "cleaner", "driver"),
}
ENTERTAINER_OCCUPATIONS = ("hostess", "dancer", "model", "entertainer")
OCCUPATION_TEXT = pa.array(
    [o for s in sorted(OCCUPATIONS) for o in OCCUPATIONS[s]] + list(ENTERTAINER_OCCUPATIONS), type=pa.string()
)
STAY_DAYS = np.array([730, 240, 730, 180, 30, 21, 365, 1_095, 180])  # per VISA_CLASSES
MEAN_EMPLOYER_SIZE = 27.0
HOURS_PER_MONTH = 173.3


def visa_applications(c: ChunkContext, emp: Employers) -> dict[str, np.ndarray]:
    rng, cfg, a = c.rng, c.cfg, c.a
    originals = np.flatnonzero(emp.predecessor < 0)
    # Exploitative employers rely more on workers whose permits tie them to the employer (E11, 003:5172).
    tied = toward(1.0, 1.6, emp.intensity[originals])
    lam = np.minimum(
        cfg.world.sponsored_applications_per_employer * tied * emp.size[originals] / MEAN_EMPLOYER_SIZE,
        300,
    )
    e = np.repeat(originals, rng.poisson(lam))
    day = rng.integers(0, c.days, len(e))
    active = day >= emp.active_from[e]  # employers founded in the window apply from then on
    e, day = e[active], day[active]
    m = len(e)
    e = move_to_successor(emp, e, day)
    direct = rng.random(m) < toward(0.3, 0.1, emp.intensity[e])
    second = (emp.r2[e] >= 0) & (rng.random(m) < 0.4)
    rec = np.where(direct, -1, np.where(second, emp.r2[e], emp.r1[e]))
    rec_u = c.recruiter_intensity(rec)
    sector = emp.sector[e]
    vclass = np.full(m, VISA_CLASSES.index("work"))
    vclass[(sector == 0) & (rng.random(m) < 0.8)] = VISA_CLASSES.index("seasonal_agri")
    vclass[sector == 3] = VISA_CLASSES.index("domestic_worker")
    # Hostess / dancer / model / entertainer placements by abusive recruiters (001:13, 003:3495).
    ent = (sector == 4) & (rng.random(m) < toward(0.08, 0.6, rec_u))
    vclass[ent] = VISA_CLASSES.index("entertainer")
    # Visitor visas for people placed in work (003:1945, 003:5891): the sponsor is hidden.
    visitor_capable = np.isin(a.rec_type[np.maximum(rec, 0)], [2, 3, 4])
    as_visitor = (
        (rec >= 0) & visitor_capable & (rng.random(m) < toward(cfg.markers.clean_visitor_placement_share, 0.35, rec_u))
    )
    vclass[as_visitor] = np.where(
        rng.random(int(as_visitor.sum())) < 0.8,
        VISA_CLASSES.index("tourist"),
        VISA_CLASSES.index("business"),
    )
    # Index into OCCUPATION_TEXT: three per sector, then the entertainer categories.
    occupation = sector * 3 + rng.integers(0, 3, m)
    occupation = np.where(ent, len(SECTORS) * 3 + rng.integers(0, 4, m), occupation)
    sponsored = {
        "e": e,
        "day": day,
        "rec": rec,
        "vclass": vclass,
        "country": emp.country[e],
        "occupation": occupation,
        "hidden_sponsor": as_visitor,
    }
    # Applications without a sponsor (tourists, students, spouses), some through travel agencies.
    u = rng.poisson(cfg.world.unsponsored_application_share * m)
    via_agency = rng.random(u) < 0.3
    urec = (
        np.where(via_agency, c.travel_pool[rng.integers(0, len(c.travel_pool), u)], -1)
        if len(c.travel_pool)
        else np.full(u, -1)
    )
    unsponsored = {
        "e": np.full(u, -1),
        "day": rng.integers(0, c.days, u),
        "rec": urec,
        "vclass": rng.choice([4, 5, 6, 7, 8], u, p=(0.5, 0.2, 0.15, 0.1, 0.05)),
        "country": rng.integers(0, a.n_countries, u),
        "occupation": np.full(u, -1),
        "hidden_sponsor": np.zeros(u, dtype=bool),
    }
    v = {k: np.concatenate([sponsored[k], unsponsored[k]]) for k in sponsored}
    return decide(c, emp, v)


def decide(c: ChunkContext, emp: Employers, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Post, desk and decision for each application; corrupt desks favour their network."""
    rng, net, a = c.rng, c.cfg.network, c.a
    m = len(v["e"])
    rec, country = v["rec"], v["country"]
    rec_ab = (rec >= 0) & a.rec_abusive[np.maximum(rec, 0)]
    rec_u = c.recruiter_intensity(rec)
    route = rng.random(m) < net.route_to_corrupt_desk * rec_u
    home = (rec >= 0) & (rng.random(m) < 0.85 * (1 - rec_u))
    post = np.where(
        home,
        a.rec_home_post[np.maximum(rec, 0), country],
        country * c.posts_per_country + _weighted_post(rng, a.post_cum_weight, country),
    )
    desk = pick_in_group(rng, c.desks_by_post, post)
    # The corrupt desk this recruiter is a patron of in that country takes its network's cases.
    corrupt_pick, routed = c.to_corrupt_patron(a.rec_pref_desk, a.desk_intensity, rec, country, route)
    desk = np.where(routed, corrupt_pick, desk)
    post = a.desk_post[desk]
    # A corrupt desk favours its network's applications as openly as its intensity says.
    favoured = rec_ab & (c.mrng.random(m) < a.desk_intensity[desk])
    habit = a.desk_habit[desk]
    fraud = rng.random(m) < toward(0.02, 0.25, rec_u)
    flag = rng.random(m) < np.where(fraud, 0.7, 0.02)
    p_approve = np.where(flag, 0.15, 0.88) + 0.07 * a.desk_intensity[desk]
    p_approve = np.where(favoured, 0.97, np.minimum(p_approve, 0.95))
    u = rng.random(m)
    decision = np.where(u < 0.02, 2, np.where(u < 0.02 + p_approve * 0.98, 0, 1))
    overturned = (decision == 1) & (rng.random(m) < np.where(favoured, 0.5, np.clip(0.01 * habit, 0, 0.5)))
    decision = np.where(overturned, 0, decision)
    expedited = rng.random(m) < np.where(favoured, 0.4, np.clip(0.03 * habit, 0, 0.5))
    proc_days = (rng.gamma(2.0, 7.0, m) * np.where(favoured, 0.35, 1.0) * np.where(expedited, 0.5, 1.0) + 1).astype(
        np.int64
    )
    submitted = v["day"] * 86_400 + rng.integers(8 * 3600, 17 * 3600, m)
    outside = rng.random(m) < np.where(favoured, 0.35, np.clip(0.03 * habit, 0, 0.5))
    hour = np.where(outside, (rng.integers(18, 31, m)) % 24, rng.integers(9, 17, m))
    decided = (v["day"] + proc_days) * 86_400 + hour * 3600 + rng.integers(0, 3600, m)
    pending = decided >= c.days * 86_400
    decision = np.where(pending, 3, decision)
    age_p_base = np.array([0.005, 0.25, 0.35, 0.22, 0.12, 0.055])
    age_p_young = np.array([0.03, 0.6, 0.3, 0.05, 0.015, 0.005])
    young = (c.mrng.random(m) < rec_u) & (v["vclass"] == VISA_CLASSES.index("entertainer"))
    age = np.where(young, choice_rows(rng, age_p_young, m), choice_rows(rng, age_p_base, m))
    e = v["e"]
    sector = np.where(e >= 0, emp.sector[np.maximum(e, 0)], 7)
    female_p = np.array([0.3, 0.1, 0.7, 0.9, 0.6, 0.1, 0.4, 0.3])[sector]
    nationality = np.where(rng.random(m) < 0.9, a.post_origin[post], rng.integers(0, len(ORIGIN_COUNTRIES), m))
    has_sponsor = (e >= 0) & ~v["hidden_sponsor"]
    es = np.maximum(e, 0)
    wage_hourly = np.where(e >= 0, declared_hourly(a, emp, es) * rng.normal(1, 0.03, m), np.nan)
    unit = np.where(sector == 3, 2, np.where(rng.random(m) < 0.1, 1, 0))  # hour, week, month
    wage = wage_hourly * np.array([1.0, 40.0, HOURS_PER_MONTH])[unit]
    approved = decision == 0
    valid_until = np.where(approved, v["day"] + proc_days + STAY_DAYS[v["vclass"]], -(10**6))
    return {
        **v,
        "post": post,
        "desk": desk,
        "fraud": fraud,
        "flag": flag,
        "decision": decision,
        "overturned": overturned,
        "expedited": expedited,
        "submitted": submitted,
        "decided": decided,
        "age": age,
        "female": rng.random(m) < female_p,
        "nationality": nationality,
        "has_sponsor": has_sponsor & ~(e < 0),
        "wage": np.where(has_sponsor, wage, np.nan),
        "unit": unit,
        "valid_until": valid_until,
        "rec_u": rec_u,
        "passport": np.arange(m),
    }


def visa_table(
    c: ChunkContext,
    emp: Employers,
    v: dict[str, np.ndarray],
    reg_no: pa.Array,
    emp_scripted: np.ndarray,
    rec_scripted: np.ndarray,
) -> tuple[pa.Table, pa.Array, pa.Array]:
    """The ``visa_application`` export, its application ids and the applicants' passport numbers."""
    rng, a = c.rng, c.a
    variant = c.cfg.realism.name_variant_share
    m = len(v["e"])
    es = np.maximum(v["e"], 0)
    sponsor_pos = c.in_script(text.choose_variant(rng, es, variant), emp_scripted)
    rs = np.maximum(v["rec"], 0)
    rec_pos = c.in_script(text.choose_variant(rng, rs, variant), rec_scripted)
    app_ids = c.ids("APP", v["submitted"])
    passports = c.passports(v["submitted"])
    # A minority of applicants apply again: reuse an earlier passport of the chunk.
    again = np.flatnonzero(rng.random(m) < 0.08)
    reuse = np.arange(m)
    reuse[again] = rng.integers(0, np.maximum(again, 1))
    passports = passports.take(pa.array(reuse))
    has_sponsor = pa.array(v["has_sponsor"])
    sponsor_registration = pa.array(v["has_sponsor"] & (rng.random(m) < 0.8))
    licence_shown = (v["rec"] >= 0) & a.rec_in_registry[rs] & (rng.random(m) < 0.6) & ~a.shifted(v["rec"], v["day"])
    decided_known = v["decision"] != 3
    table = pa.table(
        {
            "record_id": app_ids,
            "application_id": app_ids,
            "post_id": text.category(a.post_code, v["post"]),
            "desk_officer_id": text.category(a.desk_officer, v["desk"]),
            "visa_class": text.category(text.strings(VISA_CLASSES), v["vclass"]),
            "applicant_passport_no": passports,
            "applicant_age_band": text.category(text.strings(AGE_BANDS), v["age"]),
            "applicant_sex": label(("M", "F"), v["female"]),
            "applicant_nationality": text.category(text.strings(ORIGIN_COUNTRIES), v["nationality"]),
            "sponsor_name": where(has_sponsor, text.category(emp.names, sponsor_pos)),
            "sponsor_registration_no": where(sponsor_registration, reg_no.take(pa.array(es))),
            "recruiter_name": where(
                pa.array(v["rec"] >= 0), text.category(*a.recruiter_names(v["rec"], v["day"], rec_pos))
            ),
            # None once the recruiter operates unlicensed under a new name.
            "recruiter_licence_id": where(pa.array(licence_shown), a.rec_licence_id.take(pa.array(rs))),
            "occupation": where(
                pa.array(v["occupation"] >= 0), text.category(OCCUPATION_TEXT, np.maximum(v["occupation"], 0))
            ),
            "worksite_country": text.category(a.country_names, v["country"]),
            "worksite_region": where(has_sponsor, text.category(c.region_names(), emp.region[es])),
            "declared_wage": pa.array(np.round(v["wage"], 2), from_pandas=True),
            "wage_unit": where(has_sponsor, text.category(text.strings(("hour", "week", "month")), v["unit"])),
            "submitted_at": c.cal.datetime(v["submitted"]),
            "decided_at": where(pa.array(decided_known), c.cal.datetime(np.where(decided_known, v["decided"], 0))),
            "decision": text.category(text.strings(("approved", "refused", "withdrawn", "pending")), v["decision"]),
            "valid_until": where(pa.array(v["decision"] == 0), c.cal.date(np.maximum(v["valid_until"], 0))),
            "document_check_flag": pa.array(v["flag"]),
            "expedited": pa.array(v["expedited"]),
            "refusal_overturned": pa.array(v["overturned"]),
            # Exported once decided (pending ones as submitted).
            "_day": pa.array(np.where(decided_known, v["decided"], v["submitted"]) // 86_400),
        }
    )
    return table, app_ids, passports


def visa_truth(v: dict[str, np.ndarray], app_ids: pa.Array, reg_no: pa.Array) -> pa.Table:
    """The truth of each application: fraudulent document, true employer, work on a visitor visa."""
    return pa.table(
        {
            "application_id": app_ids,
            "document_fraudulent": pa.array(v["fraud"]),
            "true_employer_registration_no": where(pa.array(v["e"] >= 0), reg_no.take(pa.array(np.maximum(v["e"], 0)))),
            "placed_in_work_on_visitor_visa": pa.array(v["hidden_sponsor"]),
        }
    )


def _weighted_post(rng: np.random.Generator, cum_weight: np.ndarray, country: np.ndarray) -> np.ndarray:
    """Post position within each row's country, drawn by post demand."""
    u = rng.random(len(country))
    pos: np.ndarray = np.minimum((cum_weight[country] < u[:, None]).sum(axis=1), cum_weight.shape[1] - 1)
    return pos

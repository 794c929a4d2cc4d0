"""Border crossings of one chunk: entries on approved visas, retries after a refusal, exits at the end of a
stay, background traffic, and the ``border_crossing`` export."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from simulator import text
from simulator.chunk_context import ChunkContext
from simulator.columns import choice_rows, label, nullable_flag, scatter, where
from simulator.draws import pick_in_group, toward
from simulator.employers import Employers
from simulator.recruiters import PLATE_NUMBERS, PLATE_PREFIX
from simulator.schema import AGE_BANDS
from simulator.visas import STAY_DAYS


def crossings(c: ChunkContext, emp: Employers, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    rng, net, a = c.rng, c.cfg.network, c.a
    approved = np.flatnonzero((v["decision"] == 0) & (rng.random(len(v["e"])) < 0.92))
    entry_day = v["decided"][approved] // 86_400 + rng.integers(1, 60, len(approved))
    keep = entry_day < c.days
    app, entry_day = approved[keep], entry_day[keep]
    rec_u = v["rec_u"][app]
    entries = crossing_rows(
        c,
        app,
        v["country"][app],
        entry_day,
        rec_u,
        v["fraud"][app],
        v["age"][app],
        v["rec"][app],
        direction_in=True,
        routed=rng.random(len(app)) < net.route_to_corrupt_officer * rec_u,
    )
    # Refused network travellers try again the same day at a corrupt officer (B06); other refused travellers
    # sometimes come back the next day with their papers in order, at whichever officer (markers).
    network_retry = entries["refused"] & (c.mrng.random(len(app)) < rec_u)
    retry = np.flatnonzero(network_retry)
    again = np.flatnonzero(
        entries["refused"] & ~network_retry & (c.mrng.random(len(app)) < c.cfg.markers.clean_retry_share)
    )
    second, third = (
        crossing_rows(
            c,
            app[rows],
            v["country"][app[rows]],
            entry_day[rows] + later,
            rec_u[rows],
            v["fraud"][app[rows]],
            v["age"][app[rows]],
            v["rec"][app[rows]],
            direction_in=True,
            routed=np.full(len(rows), network),
            force_admit=network,
        )
        for rows, later, network in ((retry, 0, True), (again, 1, False))
    )
    # Exits at the end of the stay, unless the worker overstays or absconds (003:1939).
    e = v["e"][app]
    exploit_u = np.where(e >= 0, emp.intensity[np.maximum(e, 0)], 0.0)
    overstay = rng.random(len(app)) < (c.cfg.realism.overstay_base + 0.15 * exploit_u + 0.10 * rec_u)
    admitted = ~entries["refused"]
    exit_day = entry_day + (STAY_DAYS[v["vclass"][app]] * rng.uniform(0.7, 1.0, len(app))).astype(np.int64)
    leaves = np.flatnonzero(admitted & ~overstay & (exit_day < c.days))
    exits = crossing_rows(
        c,
        app[leaves],
        v["country"][app[leaves]],
        exit_day[leaves],
        np.zeros(len(leaves)),
        np.zeros(len(leaves), dtype=bool),
        v["age"][app[leaves]],
        np.full(len(leaves), -1),
        direction_in=False,
        routed=np.zeros(len(leaves), dtype=bool),
    )
    # Background traffic: residents and visitors who never applied through these posts.
    nb = rng.poisson(c.cfg.world.background_crossings_per_employer * c.count)
    background = crossing_rows(
        c,
        np.full(nb, -1),
        rng.integers(0, a.n_countries, nb),
        rng.integers(0, c.days, nb),
        np.zeros(nb),
        rng.random(nb) < 0.01,
        choice_rows(rng, np.array([0.05, 0.2, 0.3, 0.2, 0.15, 0.1]), nb),
        np.full(nb, -1),
        direction_in=rng.random(nb) < 0.5,
        routed=np.zeros(nb, dtype=bool),
    )
    out = {k: np.concatenate([entries[k], second[k], third[k], exits[k], background[k]]) for k in entries}
    out["overstay_truth"] = np.concatenate([overstay, np.zeros(len(retry) + len(again) + len(leaves) + nb, dtype=bool)])
    return out


def crossing_rows(
    c: ChunkContext,
    app: np.ndarray,
    country: np.ndarray,
    day: np.ndarray,
    network_u: np.ndarray,
    fraud: np.ndarray,
    age: np.ndarray,
    rec: np.ndarray,
    direction_in: np.ndarray | bool,
    routed: np.ndarray,
    force_admit: bool = False,
) -> dict[str, np.ndarray]:
    rng, a = c.rng, c.a
    m = len(app)
    bpost = country * c.bposts_per_country + rng.integers(0, c.bposts_per_country, m)
    officer = pick_in_group(rng, c.officers_by_bpost, bpost)
    corrupt_pick, use_corrupt = c.to_corrupt_patron(a.rec_pref_officer, a.officer_intensity, rec, country, routed)
    officer = np.where(use_corrupt, corrupt_pick, officer)
    bpost = a.officer_bpost[officer]
    network = network_u > 0  # a traveller of an abusive recruiter
    # Network crossings are timed for the night shift (B03, 003:635).
    night = rng.random(m) < np.where(use_corrupt | a.officer_night[officer], 0.85, 0.15)
    hour = np.where(night, (rng.integers(20, 30, m)) % 24, rng.integers(6, 20, m))
    sec = day * 86_400 + hour * 3600 + rng.integers(0, 3600, m)
    flagged = rng.random(m) < np.where(fraud, 0.6, 0.015)
    minor = age == 0
    guardian = rng.random(m) < toward(0.95, 0.2, network_u)
    address_ok = rng.random(m) < toward(0.97, 0.3, network_u)
    suspicious = flagged | (minor & (~guardian | ~address_ok))
    # Officers refer suspicious travellers at their habitual rate; a corrupt one waves through, above all
    # its network's, as openly as its intensity says.
    habitual = np.clip(1 - 0.15 * a.officer_habit[officer], 0.3, 1.0)
    refer_p = toward(habitual, np.where(network, 0.05, 0.3), a.officer_intensity[officer])
    referral = suspicious & (rng.random(m) < refer_p)
    refused = referral & (rng.random(m) < np.where(fraud | minor, 0.7, 0.1))
    if force_admit:
        refused[:] = False
    # Recruiters' staff escort travellers and drive them in the recruiter's vans: clean recruiters' now and
    # then, abusive ones' as often as their intensity says.
    mk = c.cfg.markers
    recruited = rec >= 0
    escort = recruited & (rng.random(m) < toward(mk.clean_escort_share, c.cfg.network.escort_share, network_u))
    family = ~escort & (rng.random(m) < 0.08)
    land = a.bpost_land[bpost]
    van = land & recruited & (rng.random(m) < toward(mk.clean_van_share, 0.5, network_u))
    car = land & ~van & (rng.random(m) < 0.35)
    return {
        "app": app,
        "bpost": bpost,
        "officer": officer,
        "sec": sec,
        "night": night,
        "direction_in": np.broadcast_to(direction_in, (m,)).copy(),
        "age": age,
        "flagged": flagged,
        "referral": referral,
        "refused": refused,
        "guardian": guardian,
        "address_ok": address_ok,
        "escort": escort,
        "family": family,
        "van": van,
        "car": car,
        "rec": rec,
        "fraud": fraud,
        "later_fraud": np.where(fraud & (rng.random(m) < 0.4), 1, np.where(rng.random(m) < 0.05, 0, -1)),
        "lane": rng.integers(1, 13, m),
        "escort_slot": rng.integers(0, 2, m),
    }


def crossing_table(c: ChunkContext, x: dict[str, np.ndarray], app_ids: pa.Array, passports: pa.Array) -> pa.Table:
    """The ``border_crossing`` export (``app_ids`` and ``passports``: of the chunk's visa applications)."""
    rng, a, cal = c.rng, c.a, c.cal
    k = len(x["app"])
    has_app = x["app"] >= 0
    rec_x = np.maximum(x["rec"], 0)
    traveller = scatter(
        k,
        (has_app, passports.take(pa.array(x["app"][has_app]))),
        (~has_app, c.passports(x["sec"][~has_app])),
    )
    slot = rec_x * 2 + x["escort_slot"]
    companion = scatter(
        k,
        (x["escort"], a.rec_escorts.take(pa.array(slot[x["escort"]]))),
        (x["family"], c.passports(x["sec"][x["family"]])),
    )
    vehicle = scatter(
        k,
        (x["van"], a.rec_vans.take(pa.array(slot[x["van"]]))),
        (x["car"], text.padded_ids(PLATE_PREFIX, rng.integers(0, PLATE_NUMBERS, int(x["car"].sum())), 7)),
    )
    # The check that later established whether the document was fraudulent concludes after a delay; one
    # not concluded by the window end is not in the export.
    crossing_day = x["sec"] // 86_400
    found_day = crossing_day + c.id_rng.exponential(c.cfg.realism.fraud_discovery_mean_days, k).astype(np.int64)
    later = np.where(found_day < c.days, x["later_fraud"], -1)
    crossing_ids = c.ids("X", x["sec"])
    return pa.table(
        {
            "record_id": crossing_ids,
            "crossing_id": crossing_ids,
            "border_post_id": text.category(a.bpost_code, x["bpost"]),
            "lane": pa.array(x["lane"]),
            "shift": label(("day", "night"), x["night"]),
            "officer_badge_no": text.category(a.officer_badge, x["officer"]),
            "crossed_at": cal.datetime(x["sec"]),
            "direction": label(("out", "in"), x["direction_in"]),
            "traveller_passport_no": traveller,
            "traveller_age_band": text.category(text.strings(AGE_BANDS), x["age"]),
            "document_type": label(("passport", "passport_with_visa"), has_app),
            "visa_application_id": where(pa.array(has_app), app_ids.take(pa.array(np.maximum(x["app"], 0)))),
            "document_check_result": label(("clear", "flagged"), x["flagged"]),
            "companion_passport_no": companion,
            "vehicle_plate": vehicle,
            "secondary_referral": pa.array(x["referral"]),
            "outcome": label(("admitted", "refused"), x["refused"]),
            "guardian_present": where(pa.array(x["age"] == 0), pa.array(x["guardian"])),
            "destination_address_verified": pa.array(x["address_ok"]),
            "document_later_found_fraudulent": nullable_flag(later),
            "fraud_found_on": where(pa.array(later >= 0), cal.date(found_day)),
            "_day": pa.array(crossing_day),
        }
    )

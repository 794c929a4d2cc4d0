"""For every indicator of ../shared/INDICATORS.md, the query over the views of world_views that gives
(entity, planted, value)."""

from __future__ import annotations


def _emp_finding(column: str) -> str:
    return (
        f"SELECT t.registration_no, t.planted, avg(({column})::INT) FROM li l "
        f"JOIN t_emp t ON t.registration_no = l.emp_ref GROUP BY ALL"
    )


def _rec_apps(expr: str, where: str = "TRUE") -> str:
    return (
        f"SELECT t.recruiter_ref, t.planted, avg(({expr})::INT) FROM va v "
        f"JOIN t_rec t ON t.recruiter_ref = v.rec_ref WHERE {where} GROUP BY ALL"
    )


def _desk_apps(expr: str, where: str = "TRUE") -> str:
    return (
        f"SELECT t.desk_ref, t.planted, avg(({expr})::INT) FROM va v "
        f"JOIN t_desk t USING (desk_ref) WHERE {where} GROUP BY ALL"
    )


def _officer(expr: str, where: str) -> str:
    return (
        f"SELECT t.officer_ref, t.planted, avg(({expr})::INT) FROM bc b "
        f"JOIN t_off t USING (officer_ref) WHERE {where} GROUP BY ALL"
    )


_ENTERTAINER = "(v.visa_class = 'entertainer' OR v.occupation IN ('hostess', 'dancer', 'model', 'entertainer'))"
_SANCTION = "('substantiated_forced_labour', 'debarment', 'conviction')"
_SECTORS_RISK = (
    "('agriculture', 'construction', 'manufacturing_garment', 'domestic_work', "
    "'hospitality_entertainment', 'fishing', 'food_processing')"
)

# (indicator id, entity kind, SQL returning (entity, planted, value), direction): +1 means the planted
# mean is above the clean mean, -1 below (B01 and I01 measure a rate whose *lowness* is the risk).
INDICATORS: list[tuple[str, str, str, int]] = [
    ("E01", "employer", _emp_finding("l.finding_retention_of_identity_documents"), +1),
    ("E02", "employer", _emp_finding("l.finding_withholding_of_wages OR l.wage_arrears_usd > 0"), +1),
    ("E03", "employer", _emp_finding("l.finding_debt_bondage"), +1),
    (
        "E04",
        "employer",
        "SELECT t.registration_no, t.planted, avg((l.avg_weekly_hours > 48)::INT) FROM li l "
        "JOIN t_emp t ON t.registration_no = l.emp_ref WHERE l.avg_weekly_hours >= 0 GROUP BY ALL",
        +1,
    ),
    ("E05", "employer", _emp_finding("l.finding_restriction_of_movement"), +1),
    (
        "E06",
        "employer",
        "SELECT t.registration_no, t.planted, "
        "avg((l.housing_by_employer::INT + l.transport_by_employer::INT) / 2) FROM li l "
        "JOIN t_emp t ON t.registration_no = l.emp_ref GROUP BY ALL",
        +1,
    ),
    ("E07", "employer", _emp_finding("l.finding_abusive_working_living_conditions"), +1),
    ("E08", "employer", _emp_finding("l.finding_intimidation_threats"), +1),
    # Gap between the wage promised on visa petitions and the wage found at inspections.
    (
        "E09",
        "employer",
        """WITH promised AS (SELECT emp_ref, avg(wage_hourly) AS w FROM va WHERE wage_hourly > 0 GROUP BY 1),
             found AS (SELECT emp_ref, avg(wage_found_hourly_usd) AS w FROM li
                       WHERE wage_found_hourly_usd > 0 GROUP BY 1)
        SELECT t.registration_no, t.planted, 1 - f.w / p.w FROM promised p JOIN found f USING (emp_ref)
        JOIN t_emp t ON t.registration_no = p.emp_ref""",
        +1,
    ),
    # Declared wage below the median declared for the same occupation and region.
    (
        "E10",
        "employer",
        """WITH w AS (SELECT emp_ref, occupation, worksite_region, wage_hourly FROM va
                   WHERE wage_hourly > 0 AND emp_ref IS NOT NULL AND occupation IS NOT NULL
                     AND worksite_region IS NOT NULL),
             peer AS (SELECT occupation, worksite_region, median(wage_hourly) AS m FROM w GROUP BY ALL)
        SELECT t.registration_no, t.planted, avg(1 - w.wage_hourly / peer.m) FROM w
        JOIN peer USING (occupation, worksite_region) JOIN t_emp t ON t.registration_no = w.emp_ref
        GROUP BY ALL""",
        +1,
    ),
    # Approved permits tied to the employer (sponsored work classes) per registered employee.
    (
        "E11",
        "employer",
        """SELECT t.registration_no, t.planted,
               count(v.application_id) / any_value(o.employees) FROM org o
        JOIN t_emp t USING (registration_no)
        LEFT JOIN va v ON v.emp_ref = o.registration_no AND v.approved
             AND v.visa_class IN ('work', 'seasonal_agri', 'domestic_worker', 'entertainer')
        WHERE o.employees > 0 GROUP BY ALL""",
        +1,
    ),
    (
        "E12",
        "employer",
        f"SELECT t.registration_no, t.planted, (o.sector IN {_SECTORS_RISK})::INT FROM org o "
        f"JOIN t_emp t USING (registration_no) WHERE o.sector IN {_SECTORS_RISK} OR o.sector = 'other'",
        +1,
    ),
    # Risk of the recruiters it uses: their document-check flag rate over all their applications.
    (
        "E13",
        "employer",
        """WITH risk AS (SELECT rec_ref, avg(document_check_flag::INT) AS r FROM va
                      WHERE rec_ref IS NOT NULL GROUP BY 1)
        SELECT t.registration_no, t.planted, avg(risk.r) FROM va v JOIN risk USING (rec_ref)
        JOIN t_emp t ON t.registration_no = v.emp_ref GROUP BY ALL""",
        +1,
    ),
    (
        "E14",
        "employer",
        "SELECT t.registration_no, t.planted, max((l.minors_found > 0)::INT) FROM li l "
        "JOIN t_emp t ON t.registration_no = l.emp_ref WHERE l.minors_found >= 0 GROUP BY ALL",
        +1,
    ),
    # Complaints from workers, NGOs and unions.
    (
        "E15",
        "employer",
        """SELECT t.registration_no, t.planted, count(e.record_id) FROM org o
        JOIN t_emp t USING (registration_no)
        LEFT JOIN eo e ON e.entity_type = 'employer' AND e.entity_ref = o.registration_no
             AND e.kind = 'complaint'
        GROUP BY ALL""",
        +1,
    ),
    # A labour contractor seen on site that is not in the recruiter registry.
    (
        "E16",
        "employer",
        """SELECT t.registration_no, t.planted,
               max((l.labour_contractor_name IS NOT NULL AND r.recruiter_ref IS NULL)::INT)
        FROM li l JOIN t_emp t ON t.registration_no = l.emp_ref
        LEFT JOIN rec_name rn ON rn.name = l.labour_contractor_name
        LEFT JOIN (SELECT DISTINCT recruiter_ref FROM reg) r ON r.recruiter_ref = rn.recruiter_ref
        GROUP BY ALL""",
        +1,
    ),
    # Registered after another organisation's sanction, sharing its phone or a director.
    (
        "E17",
        "employer",
        f"""WITH s AS (SELECT entity_ref, min(day) AS d FROM eo WHERE entity_type = 'employer'
                    AND kind IN {_SANCTION} AND day IS NOT NULL GROUP BY 1),
             o AS (SELECT registration_no, phone, TRY_CAST(registered_on AS DATE) AS reg_day FROM org),
             k AS (SELECT registration_no, 'p:' || phone AS k FROM org WHERE phone IS NOT NULL
                   UNION SELECT registration_no, 'd:' || trim(unnest(string_split(directors, ';')))
                   FROM org WHERE directors IS NOT NULL),
             hit AS (SELECT DISTINCT a.registration_no FROM k a JOIN k b ON a.k = b.k
                     AND a.registration_no <> b.registration_no
                     JOIN s ON s.entity_ref = b.registration_no
                     JOIN o ON o.registration_no = a.registration_no
                     WHERE o.reg_day > s.d)
        SELECT t.registration_no, t.planted, (h.registration_no IS NOT NULL)::INT FROM org
        JOIN t_emp t USING (registration_no) LEFT JOIN hit h USING (registration_no)""",
        +1,
    ),
    # Shares address, phone or director with a sanctioned employer or recruiter.
    (
        "E18",
        "employer",
        f"""WITH sanctioned AS (
                SELECT registration_no AS ref, address, phone, directors FROM org WHERE registration_no IN (
                    SELECT entity_ref FROM eo WHERE entity_type = 'employer' AND kind IN {_SANCTION})
                UNION ALL
                SELECT recruiter_ref, address, phone, directors FROM reg WHERE recruiter_ref IN (
                    SELECT entity_ref FROM eo WHERE entity_type = 'recruiter'
                      AND kind IN ('licence_revocation', 'conviction'))),
             everyone AS (SELECT registration_no AS ref, address, phone, directors FROM org
                          UNION ALL SELECT * FROM sanctioned),
             k AS (SELECT ref, 'a:' || address AS k FROM everyone WHERE address IS NOT NULL
                   UNION SELECT ref, 'p:' || phone FROM everyone WHERE phone IS NOT NULL
                   UNION SELECT ref, 'd:' || trim(unnest(string_split(directors, ';'))) FROM everyone
                   WHERE directors IS NOT NULL),
             hit AS (SELECT DISTINCT a.ref FROM k a JOIN k b ON a.k = b.k AND a.ref <> b.ref
                     WHERE b.ref IN (SELECT ref FROM sanctioned))
        SELECT t.registration_no, t.planted, (h.ref IS NOT NULL)::INT FROM org
        JOIN t_emp t USING (registration_no) LEFT JOIN hit h ON h.ref = org.registration_no""",
        +1,
    ),
    (
        "E19",
        "employer",
        "SELECT t.registration_no, t.planted, avg(s.overstay::INT) FROM stays s "
        "JOIN t_emp t ON t.registration_no = s.emp_ref GROUP BY ALL",
        +1,
    ),
    # ---- recruiters
    (
        "R01",
        "recruiter",
        "SELECT t.recruiter_ref, t.planted, (r.licence_status <> 'active')::INT FROM reg r "
        "JOIN t_rec t USING (recruiter_ref) "
        "WHERE r.licence_status IN ('active', 'expired', 'suspended', 'revoked', 'none')",
        +1,
    ),
    (
        "R02",
        "recruiter",
        "SELECT t.recruiter_ref, t.planted, (r.declared_fee_to_workers_usd > 500)::INT FROM reg r "
        "JOIN t_rec t USING (recruiter_ref) WHERE r.declared_fee_to_workers_usd >= 0",
        +1,
    ),
    # Deception found at the employers it placed workers with.
    (
        "R03",
        "recruiter",
        """WITH placed AS (SELECT DISTINCT rec_ref, emp_ref FROM va WHERE rec_ref IS NOT NULL)
        SELECT t.recruiter_ref, t.planted, avg(l.finding_deception::INT) FROM placed p
        JOIN li l USING (emp_ref) JOIN t_rec t ON t.recruiter_ref = p.rec_ref GROUP BY ALL""",
        +1,
    ),
    ("R04", "recruiter", _rec_apps(_ENTERTAINER, "v.class_ok"), +1),
    # Distinct posts per destination country it files with (a clean recruiter mostly uses one home post).
    (
        "R05",
        "recruiter",
        "SELECT t.recruiter_ref, t.planted, count(DISTINCT v.post_id) / count(DISTINCT v.worksite_country) "
        "FROM va v JOIN t_rec t ON t.recruiter_ref = v.rec_ref "
        "WHERE v.post_ok AND v.worksite_country IS NOT NULL GROUP BY ALL",
        +1,
    ),
    # Visitor visas that name an occupation (the applicant is placed in work).
    (
        "R06",
        "recruiter",
        _rec_apps("v.visa_class IN ('tourist', 'business') AND v.occupation IS NOT NULL", "v.class_ok"),
        +1,
    ),
    ("R07", "recruiter", _rec_apps("v.document_check_flag", "v.document_check_flag IS NOT NULL"), +1),
    # Placements at employers the export shows as exploitative.
    (
        "R08",
        "recruiter",
        "SELECT t.recruiter_ref, t.planted, avg((b.emp_ref IS NOT NULL)::INT) FROM va v "
        "JOIN t_rec t ON t.recruiter_ref = v.rec_ref LEFT JOIN bad_emp b USING (emp_ref) "
        "WHERE v.emp_ref IS NOT NULL GROUP BY ALL",
        +1,
    ),
    # Front-company signals: agency type, young registration, phone shared with an organisation.
    (
        "R09",
        "recruiter",
        """SELECT t.recruiter_ref, t.planted,
               (r.agency_type IN ('travel_agency', 'model_agency', 'marriage_agency',
                                  'unlicensed_broker'))::INT
               + coalesce(TRY_CAST(r.registered_on AS DATE) > window_start() - INTERVAL 3 YEAR, false)::INT
               + (r.phone IN (SELECT phone FROM org WHERE phone IS NOT NULL))::INT
        FROM reg r JOIN t_rec t USING (recruiter_ref)""",
        +1,
    ),
    (
        "R10",
        "recruiter",
        """SELECT t.recruiter_ref, t.planted, count(e.record_id) FROM t_rec t
        LEFT JOIN eo e ON e.entity_type = 'recruiter' AND e.entity_ref = t.recruiter_ref
             AND e.kind = 'complaint'
        WHERE t.recruiter_ref IN (SELECT recruiter_ref FROM reg UNION SELECT rec_ref FROM va)
        GROUP BY ALL""",
        +1,
    ),
    (
        "R11",
        "recruiter",
        "SELECT t.recruiter_ref, t.planted, avg(s.overstay::INT) FROM stays s "
        "JOIN t_rec t ON t.recruiter_ref = s.rec_ref GROUP BY ALL",
        +1,
    ),
    # Mean approval-despite-flag rate of the desks its applications went to.
    (
        "R12",
        "recruiter",
        """WITH desk AS (SELECT desk_ref, avg(approved::INT) AS s FROM va
                      WHERE document_check_flag AND decided GROUP BY 1)
        SELECT t.recruiter_ref, t.planted, avg(desk.s) FROM va v JOIN desk USING (desk_ref)
        JOIN t_rec t ON t.recruiter_ref = v.rec_ref GROUP BY ALL""",
        +1,
    ),
    (
        "R13",
        "recruiter",
        _rec_apps(
            f"v.applicant_age_band IN ('<18', '18-24') AND {_ENTERTAINER}",
            "v.applicant_age_band IN ('<18', '18-24', '25-34', '35-44', '45-54', '55+') AND v.class_ok",
        ),
        +1,
    ),
    # Largest number of distinct travellers crossing with one companion of the recruiter's travellers.
    (
        "R14",
        "recruiter",
        """WITH comp AS (SELECT companion_passport_no, count(DISTINCT traveller_passport_no) AS n FROM bc
                      WHERE companion_passport_no IS NOT NULL GROUP BY 1),
             rc AS (SELECT DISTINCT v.rec_ref, b.companion_passport_no FROM va v
                    JOIN bc b ON b.visa_application_id = v.application_id
                    WHERE v.rec_ref IS NOT NULL AND b.companion_passport_no IS NOT NULL)
        SELECT t.recruiter_ref, t.planted, coalesce(max(comp.n), 0) FROM t_rec t
        LEFT JOIN rc ON rc.rec_ref = t.recruiter_ref LEFT JOIN comp USING (companion_passport_no)
        WHERE t.recruiter_ref IN (SELECT rec_ref FROM va) GROUP BY ALL""",
        +1,
    ),
    # ---- visa desks
    # Approval rate against the post's rate for the same visa class and document-check flag.
    (
        "V01",
        "visa_desk",
        """WITH d AS (SELECT desk_ref, post_id, visa_class, document_check_flag AS f, approved::INT AS a FROM va
                   WHERE decided AND post_ok AND class_ok AND document_check_flag IS NOT NULL),
             peer AS (SELECT post_id, visa_class, f, avg(a) AS p FROM d GROUP BY ALL)
        SELECT t.desk_ref, t.planted, avg(d.a - peer.p) FROM d JOIN peer USING (post_id, visa_class, f)
        JOIN t_desk t USING (desk_ref) GROUP BY ALL""",
        +1,
    ),
    ("V02", "visa_desk", _desk_apps("v.document_check_flag", "v.approved AND v.document_check_flag IS NOT NULL"), +1),
    # Largest share of the desk's approvals that went to one recruiter.
    # Over-representation of one intermediary: the largest excess, over recruiters with at least five
    # approvals at the post, of the share of that recruiter's approvals decided by this desk over the
    # desk's share of all approvals at the post.
    (
        "V03",
        "visa_desk",
        """WITH a AS (SELECT post_id, desk_ref, rec_ref FROM va WHERE approved AND post_ok),
             dn AS (SELECT post_id, desk_ref, count(*) AS n FROM a GROUP BY post_id, desk_ref),
             desk AS (SELECT post_id, desk_ref, n / sum(n) OVER (PARTITION BY post_id) AS share FROM dn),
             rn AS (SELECT post_id, rec_ref, desk_ref, count(*) AS k FROM a WHERE rec_ref IS NOT NULL
                    GROUP BY post_id, rec_ref, desk_ref),
             rec AS (SELECT post_id, rec_ref, desk_ref,
                            k / sum(k) OVER (PARTITION BY post_id, rec_ref) AS share,
                            sum(k) OVER (PARTITION BY post_id, rec_ref) AS n FROM rn)
        SELECT t.desk_ref, t.planted, max(coalesce(rec.share, 0) - desk.share)
        FROM desk JOIN t_desk t USING (desk_ref)
        LEFT JOIN rec ON rec.post_id = desk.post_id AND rec.desk_ref = desk.desk_ref AND rec.n >= 5
        GROUP BY ALL""",
        +1,
    ),
    ("V04", "visa_desk", _desk_apps("v.expedited", "v.expedited IS NOT NULL"), +1),
    (
        "V05",
        "visa_desk",
        _desk_apps("hour(v.dec_ts) < 8 OR hour(v.dec_ts) >= 18", "v.dec_ts < window_end() AND v.decided"),
        +1,
    ),
    ("V06", "visa_desk", _desk_apps("v.refusal_overturned", "v.refusal_overturned IS NOT NULL AND v.decided"), +1),
    # Fastest recruiter (at least 5 decisions) against the desk's mean processing time.
    (
        "V07",
        "visa_desk",
        """WITH p AS (SELECT desk_ref, rec_ref, date_diff('hour', sub_ts, dec_ts) / 24 AS days FROM va
                   WHERE decided AND date_diff('hour', sub_ts, dec_ts) BETWEEN 0 AND 365 * 24),
             desk AS (SELECT desk_ref, avg(days) AS m FROM p GROUP BY 1),
             rec AS (SELECT desk_ref, rec_ref, avg(days) AS m FROM p WHERE rec_ref IS NOT NULL GROUP BY ALL
                     HAVING count(*) >= 5)
        SELECT t.desk_ref, t.planted, 1 - min(rec.m) / any_value(desk.m) FROM rec JOIN desk USING (desk_ref)
        JOIN t_desk t USING (desk_ref) GROUP BY ALL""",
        +1,
    ),
    # Applications per desk at the desk's post.
    (
        "V08",
        "visa_desk",
        """WITH post AS (SELECT post_id, count(*) / count(DISTINCT desk_ref) AS load FROM va WHERE post_ok
                      GROUP BY 1)
        SELECT t.desk_ref, t.planted, post.load
        FROM (SELECT DISTINCT desk_ref, post_id FROM va WHERE post_ok) d
        JOIN post USING (post_id) JOIN t_desk t USING (desk_ref)""",
        +1,
    ),
    # Approved applicants later found at an exploitative employer or overstaying.
    (
        "V09",
        "visa_desk",
        """SELECT t.desk_ref, t.planted, avg((b.emp_ref IS NOT NULL OR coalesce(s.overstay, false))::INT)
        FROM va v
        JOIN t_desk t USING (desk_ref) LEFT JOIN bad_emp b USING (emp_ref)
        LEFT JOIN stays s USING (application_id) WHERE v.approved GROUP BY ALL""",
        +1,
    ),
    # ---- border officers
    # Referral rate of flagged travellers: corrupt officers refer *fewer* (the risk is a low rate).
    (
        "B01",
        "border_officer",
        _officer("b.secondary_referral", "b.document_check_result = 'flagged' AND b.secondary_referral IS NOT NULL"),
        -1,
    ),
    # Crossings whose companion passes this officer with two or more different travellers.
    (
        "B02",
        "border_officer",
        """WITH c AS (SELECT officer_ref, companion_passport_no, count(DISTINCT traveller_passport_no) AS n
                   FROM bc WHERE companion_passport_no IS NOT NULL GROUP BY ALL)
        SELECT t.officer_ref, t.planted, avg(coalesce(c.n >= 2, false)::INT) FROM bc b
        JOIN t_off t USING (officer_ref) LEFT JOIN c USING (officer_ref, companion_passport_no)
        GROUP BY ALL""",
        +1,
    ),
    # Anomalous admissions (flagged documents or documents later found fraudulent) on night shifts,
    # per admission.
    (
        "B03",
        "border_officer",
        _officer(
            "b.shift = 'night' AND (b.document_check_result = 'flagged' "
            "OR coalesce(b.document_later_found_fraudulent, false))",
            "b.admitted AND b.shift IN ('day', 'night')",
        ),
        +1,
    ),
    ("B04", "border_officer", _officer("coalesce(b.document_later_found_fraudulent, false)", "b.admitted"), +1),
    # Mean number of distinct travellers carried by the vehicles crossing at this officer.
    (
        "B05",
        "border_officer",
        """WITH v AS (SELECT vehicle_plate, count(DISTINCT traveller_passport_no) AS n FROM bc
                   WHERE vehicle_plate IS NOT NULL GROUP BY 1)
        SELECT t.officer_ref, t.planted, avg(v.n) FROM bc b JOIN v USING (vehicle_plate)
        JOIN t_off t USING (officer_ref) GROUP BY ALL""",
        +1,
    ),
    # Admissions of a traveller refused by another officer within two days.
    (
        "B06",
        "border_officer",
        """WITH refused AS (SELECT traveller_passport_no, officer_ref, ts FROM bc
                         WHERE outcome = 'refused' AND direction = 'in' AND ts IS NOT NULL),
             readmitted AS (SELECT DISTINCT b.record_id FROM bc b JOIN refused r USING (traveller_passport_no)
                            WHERE b.admitted AND b.direction = 'in' AND r.officer_ref <> b.officer_ref
                              AND abs(epoch(b.ts) - epoch(r.ts)) <= 2 * 86400)
        SELECT t.officer_ref, t.planted, avg((b.record_id IN (SELECT record_id FROM readmitted))::INT)
        FROM bc b
        JOIN t_off t USING (officer_ref) WHERE b.admitted AND b.direction = 'in' GROUP BY ALL""",
        +1,
    ),
    # Admitted minors without a guardian or with an unverified destination address.
    (
        "B07",
        "border_officer",
        _officer(
            "NOT coalesce(b.guardian_present, true) OR NOT coalesce(b.destination_address_verified, true)",
            "b.admitted AND b.traveller_age_band = '<18'",
        ),
        +1,
    ),
    # ---- labour inspectors (high-risk worksite: see li_high_risk)
    (
        "I01",
        "inspector",
        "SELECT t.inspector_badge_no, t.planted, avg(l.any_finding::INT) FROM li_high_risk l "
        "JOIN t_insp t USING (inspector_badge_no) GROUP BY ALL",
        -1,
    ),
    # Clean visits followed within 90 days by another inspector's visit with findings.
    (
        "I02",
        "inspector",
        """SELECT t.inspector_badge_no, t.planted, avg((EXISTS (
                SELECT 1 FROM li b WHERE b.emp_ref = a.emp_ref
                  AND b.inspector_badge_no <> a.inspector_badge_no AND b.any_finding
                  AND b.day > a.day AND b.day <= a.day + INTERVAL 90 DAY))::INT)
        FROM li a JOIN t_insp t USING (inspector_badge_no) WHERE NOT a.any_finding AND a.day IS NOT NULL
        GROUP BY ALL""",
        +1,
    ),
    (
        "I03",
        "inspector",
        "SELECT t.inspector_badge_no, t.planted, avg(l.announced::INT) FROM li_high_risk l "
        "JOIN t_insp t USING (inspector_badge_no) WHERE l.announced IS NOT NULL GROUP BY ALL",
        +1,
    ),
]

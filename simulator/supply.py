"""Supply chains of the synthetic world: buyers, their tier-1 suppliers and the tier-2 suppliers behind them.

Each buyer (a brand or retailer whose supply-chain auditors use tracerisk) sources from tier-1 suppliers; each
tier-1 supplier sub-contracts to a handful of tier-2 suppliers, and every supplier brings its own recruiters and
labour contractors (simulator.employers). Exploitation sits more often in the lower tiers, out of the buyer's sight
(the sources: forced labour hides in sub-contracting chains, 003:5172, 003:5943): tier-1 suppliers are drawn
with exploitative employers down-weighted and tier-2 suppliers with them up-weighted by
``lower_tier_exploitation_factor``.

Links stay inside one chunk of employers (so a chunk is still generated independently) and are drawn from
their own random stream, so adding supply chains leaves every other generated value as it was.
"""

from __future__ import annotations

import numpy as np

from simulator.config import SupplyChain

BUYER_PREFIX = "BUY-"


def n_buyers(n_employers: int, cfg: SupplyChain) -> int:
    return max(2, n_employers // cfg.employers_per_buyer)


def buyer_ids(indices: np.ndarray) -> list[str]:
    return [f"{BUYER_PREFIX}{int(i) + 1:05d}" for i in indices]


def draw_tiers(
    exploit: np.ndarray, buyers: int, cfg: SupplyChain, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(tier, customer) per employer: tier 1 supplies buyer ``customer``; tier 2 supplies the chunk-local
    employer ``customer`` (a tier-1 supplier); tier 0 (customer -1) is outside every mapped supply chain."""
    n = len(exploit)
    tier = np.zeros(n, dtype=np.int64)
    customer = np.full(n, -1, dtype=np.int64)
    n_t1 = min(n, round(cfg.tier1_share * n))
    if n_t1 == 0:
        return tier, customer
    f = cfg.lower_tier_exploitation_factor
    w1 = np.where(exploit, 1.0 / f, 1.0)
    t1 = rng.choice(n, size=n_t1, replace=False, p=w1 / w1.sum())
    tier[t1] = 1
    # A buyer's portfolio is concentrated: a few buyers take most tier-1 suppliers (lognormal weights).
    bw = rng.lognormal(0.0, 0.8, buyers)
    customer[t1] = rng.choice(buyers, size=n_t1, p=bw / bw.sum())
    rest = np.flatnonzero(tier == 0)
    n_t2 = min(len(rest), round(cfg.tier2_per_tier1 * n_t1))
    if n_t2:
        w2 = np.where(exploit[rest], f, 1.0)
        t2 = rest[rng.choice(len(rest), size=n_t2, replace=False, p=w2 / w2.sum())]
        tier[t2] = 2
        # Fan-out is skewed: some tier-1 suppliers sub-contract widely, most to one to three.
        fw = rng.lognormal(0.0, 0.9, n_t1)
        customer[t2] = t1[rng.choice(n_t1, size=n_t2, p=fw / fw.sum())]
    return tier, customer

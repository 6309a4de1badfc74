"""Run gbstats' SequentialTwoSidedTTest over simulated paths (inside gbstats' own venv).

Called by benchmarks/stats_validation.py as
``<gbstats python> benchmarks/gbstats_sequential_runner.py IN.npz OUT.npz``.
IN holds cumulative ``users_a, conv_a, users_b, conv_b`` of shape (experiments, looks)
plus ``alpha``, ``tuning`` and ``full_rows``. OUT holds ``first`` (index of the first
look with p < alpha, -1 if none) and, for the first ``full_rows`` experiments, gbstats'
p-value and interval at every look (``p``, ``ci_low``, ``ci_high``).
"""

from __future__ import annotations

import sys

import numpy as np
from gbstats.frequentist.tests import SequentialConfig, SequentialTwoSidedTTest
from gbstats.models.statistics import ProportionStatistic


def _result(cfg: SequentialConfig, n_a: float, c_a: float, n_b: float, c_b: float) -> object:
    return SequentialTwoSidedTTest(
        ProportionStatistic(n=int(n_a), sum=float(c_a)),
        ProportionStatistic(n=int(n_b), sum=float(c_b)),
        cfg,
    ).compute_result()


def main(path_in: str, path_out: str) -> None:
    """Compute first rejections for every experiment and full paths for a subset."""
    data = np.load(path_in)
    alpha, tuning, full_rows = float(data["alpha"]), float(data["tuning"]), int(data["full_rows"])
    cfg = SequentialConfig(alpha=alpha, sequential_tuning_parameter=tuning)
    users_a, conv_a, users_b, conv_b = (data[k] for k in ("users_a", "conv_a", "users_b", "conv_b"))
    experiments, looks = users_a.shape
    first = np.full(experiments, -1, dtype=np.int64)
    p = np.ones((full_rows, looks))
    ci_low = np.zeros((full_rows, looks))
    ci_high = np.zeros((full_rows, looks))
    for e in range(experiments):
        for k in range(looks):
            r = _result(cfg, users_a[e, k], conv_a[e, k], users_b[e, k], conv_b[e, k])
            if e < full_rows:
                p[e, k], ci_low[e, k], ci_high[e, k] = r.p_value, r.ci[0], r.ci[1]
            if r.error_message is None and r.p_value < alpha and first[e] < 0:
                first[e] = k
                if e >= full_rows:
                    break
    np.savez(path_out, first=first, p=p, ci_low=ci_low, ci_high=ci_high)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

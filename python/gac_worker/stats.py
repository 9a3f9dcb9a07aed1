"""Pure statistics for the measurement method: no torch, no numpy, unit-tested on any machine.

Choices (docs/measurement-method.md says why):
- quantiles use linear interpolation between order statistics (numpy's default, "type 7");
- the noise figure that stops sampling is the relative half-width of a distribution-free 95%
  confidence interval of the MEDIAN (order statistics of a Binomial(n, 1/2)); no bootstrap, no
  normality assumption, and one slow outlier cannot keep it open;
- the nvbench-style relative standard deviation is reported beside it, never used to stop.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

# Exact binomial tails up to this n; above it the normal approximation differs from the exact
# order-statistic index by at most one position (checked in tests at n=200/201).
MAX_EXACT_BINOMIAL_N = 200
Z_95 = 1.959963984540054


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Quantile q in [0, 1] of already sorted values, linear interpolation (numpy 'linear')."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("quantile of an empty sample")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside [0, 1]")
    position = q * (n - 1)
    lower = math.floor(position)
    upper = min(lower + 1, n - 1)
    fraction = position - lower
    return sorted_values[lower] + (sorted_values[upper] - sorted_values[lower]) * fraction


def median_ci_ranks(n: int, confidence: float = 0.95) -> Optional[tuple[int, int]]:
    """0-based ranks (lo, hi) of the order statistics bounding a distribution-free CI of the
    median, or None when n is too small for any interval at this confidence (n < 6 at 95%)."""
    if n <= 0:
        return None
    alpha = 1.0 - confidence
    if n <= MAX_EXACT_BINOMIAL_N:
        # Largest j (1-based) with P(X < j) <= alpha/2 for X ~ Binomial(n, 1/2); the interval
        # [x_(j), x_(n+1-j)] then covers the median with probability >= confidence.
        total = 2 ** n
        cumulative = 0
        j = 0
        for k in range(n + 1):
            cumulative += math.comb(n, k)
            if cumulative / total > alpha / 2:
                j = k  # P(X <= k-1) <= alpha/2, so j = k (1-based) is allowed
                break
        if j < 1:
            return None
        return j - 1, n - j
    z = Z_95 if abs(confidence - 0.95) < 1e-12 else _normal_quantile(1 - alpha / 2)
    half = z * math.sqrt(n) / 2
    lo = max(1, math.floor(n / 2 - half))
    return lo - 1, min(n - 1, n - lo)


def _normal_quantile(p: float) -> float:
    """Inverse standard normal CDF by bisection on math.erf (only used for non-95% levels)."""
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def relative_median_ci(sorted_values: Sequence[float], confidence: float = 0.95) -> float:
    """Half-width of the median's CI over the median; inf when n is too small to say."""
    ranks = median_ci_ranks(len(sorted_values), confidence)
    if ranks is None:
        return math.inf
    med = quantile(sorted_values, 0.5)
    if med <= 0:
        return math.inf
    lo, hi = ranks
    return (sorted_values[hi] - sorted_values[lo]) / 2 / med


@dataclass(frozen=True)
class Summary:
    n: int
    median: float
    p10: float
    p90: float
    mean: float
    stdev: float
    min: float
    max: float
    rel_ci: float  # relative half-width of the 95% CI of the median (inf if n < 6)
    rel_stdev: float  # stdev / mean (nvbench's noise figure), 0 when n < 2

    def to_json(self, unit: str = "ms") -> dict:
        return {
            f"median_{unit}": self.median,
            f"p10_{unit}": self.p10,
            f"p90_{unit}": self.p90,
            f"mean_{unit}": self.mean,
            f"stdev_{unit}": self.stdev,
            f"min_{unit}": self.min,
            f"max_{unit}": self.max,
            "n": self.n,
            "rel_ci": finite_or_none(self.rel_ci),
            "rel_stdev": self.rel_stdev,
        }


def summarize(values: Sequence[float], confidence: float = 0.95) -> Summary:
    if len(values) == 0:
        raise ValueError("cannot summarize an empty sample")
    s = sorted(values)
    n = len(s)
    mean = sum(s) / n
    stdev = math.sqrt(sum((x - mean) ** 2 for x in s) / (n - 1)) if n > 1 else 0.0
    return Summary(
        n=n,
        median=quantile(s, 0.5),
        p10=quantile(s, 0.1),
        p90=quantile(s, 0.9),
        mean=mean,
        stdev=stdev,
        min=s[0],
        max=s[-1],
        rel_ci=relative_median_ci(s, confidence),
        rel_stdev=stdev / mean if mean > 0 else 0.0,
    )


def finite_or_none(x: Optional[float]) -> Optional[float]:
    """JSON has no inf/NaN: such values travel as null."""
    if x is None or math.isnan(x) or math.isinf(x):
        return None
    return x


@dataclass(frozen=True)
class StopRule:
    min_samples: int = 10
    min_gpu_time_s: float = 0.2
    target_rel_ci: float = 0.01
    max_samples: int = 1000
    max_wall_s: float = 5.0
    confidence: float = 0.95


def stop_reason(
    rule: StopRule, samples_ms: Sequence[float], gpu_time_s: float, wall_s: float
) -> Optional[str]:
    """Why sampling should stop now, or None to go on.

    'converged': at least min_samples kept samples, min_gpu_time_s of timed GPU work, and the
    median's relative CI half-width at or under target; 'max_samples' and 'time_cap' are caps
    (the wall cap counts dropped samples, warm-up and flushes too)."""
    n = len(samples_ms)
    if n >= rule.min_samples and gpu_time_s >= rule.min_gpu_time_s:
        if relative_median_ci(sorted(samples_ms), rule.confidence) <= rule.target_rel_ci:
            return "converged"
    if n >= rule.max_samples:
        return "max_samples"
    if wall_s >= rule.max_wall_s:
        return "time_cap"
    return None


def is_throttled(
    clock_mhz: Optional[float], max_clock_mhz: Optional[float], threshold: float = 0.75
) -> bool:
    """nvbench's rule: a sample taken while the SM clock is under threshold x the maximum clock is
    discarded. Unknown clocks never drop a sample (the result says the clock source was absent)."""
    if clock_mhz is None or max_clock_mhz is None or max_clock_mhz <= 0:
        return False
    return clock_mhz < threshold * max_clock_mhz

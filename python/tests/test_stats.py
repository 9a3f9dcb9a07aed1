import math
import unittest

from gac_worker.stats import (
    StopRule, is_throttled, median_ci_ranks, quantile, relative_median_ci, stop_reason, summarize,
)


class QuantileTest(unittest.TestCase):
    def test_interpolates_linearly_between_order_statistics_like_numpy(self):
        values = [1.0, 2.0, 4.0, 8.0]
        self.assertEqual(quantile(values, 0.0), 1.0)
        self.assertEqual(quantile(values, 1.0), 8.0)
        self.assertAlmostEqual(quantile(values, 0.5), 3.0)  # numpy.quantile(..., .5) == 3.0
        self.assertAlmostEqual(quantile(values, 0.1), 1.3)  # position 0.3 between 1 and 2
        self.assertAlmostEqual(quantile(values, 0.9), 6.8)  # position 2.7 between 4 and 8

    def test_single_value_is_every_quantile(self):
        self.assertEqual(quantile([5.0], 0.37), 5.0)

    def test_refuses_empty_samples_and_out_of_range_q(self):
        with self.assertRaises(ValueError):
            quantile([], 0.5)
        with self.assertRaises(ValueError):
            quantile([1.0], 1.5)


class MedianCiTest(unittest.TestCase):
    def test_uses_textbook_order_statistics_for_small_n(self):
        # Tables of distribution-free 95% CIs of the median: n=10 -> x(2)..x(9), n=6 -> x(1)..x(6).
        self.assertEqual(median_ci_ranks(10), (1, 8))
        self.assertEqual(median_ci_ranks(6), (0, 5))
        self.assertEqual(median_ci_ranks(20), (5, 14))  # x(6)..x(15)

    def test_gives_no_interval_below_six_samples(self):
        self.assertIsNone(median_ci_ranks(5))
        self.assertEqual(relative_median_ci([1.0] * 5), math.inf)

    def test_normal_approximation_meets_exact_ranks_at_the_switch(self):
        exact = median_ci_ranks(200)
        approx = median_ci_ranks(201)
        self.assertLessEqual(abs(exact[0] - approx[0]), 1)
        self.assertLessEqual(abs(exact[1] - (approx[1] - 1)), 1)

    def test_one_wild_outlier_does_not_widen_the_interval(self):
        tight = [1.0, 1.001, 0.999, 1.0, 1.002, 0.998, 1.0, 1.001, 0.999, 1.0]
        with_outlier = tight[:-1] + [50.0]
        self.assertLess(relative_median_ci(sorted(with_outlier)), 0.01)

    def test_relative_half_width(self):
        values = [float(x) for x in range(1, 11)]  # median 5.5, CI x(2)=2 .. x(9)=9
        self.assertAlmostEqual(relative_median_ci(values), (9 - 2) / 2 / 5.5)


class SummaryTest(unittest.TestCase):
    def test_reports_median_percentiles_mean_and_noise(self):
        s = summarize([3.0, 1.0, 2.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
        self.assertEqual(s.n, 10)
        self.assertAlmostEqual(s.median, 5.5)
        self.assertAlmostEqual(s.p10, 1.9)
        self.assertAlmostEqual(s.p90, 9.1)
        self.assertAlmostEqual(s.mean, 5.5)
        self.assertAlmostEqual(s.stdev, math.sqrt(sum((x - 5.5) ** 2 for x in range(1, 11)) / 9))
        self.assertAlmostEqual(s.rel_stdev, s.stdev / 5.5)

    def test_json_has_no_infinity(self):
        j = summarize([1.0, 2.0]).to_json()
        self.assertIsNone(j["rel_ci"])
        self.assertEqual(j["median_ms"], 1.5)


class StopRuleTest(unittest.TestCase):
    rule = StopRule(min_samples=10, min_gpu_time_s=0.2, target_rel_ci=0.01, max_samples=100, max_wall_s=5.0)

    def test_goes_on_until_min_samples_even_when_quiet(self):
        self.assertIsNone(stop_reason(self.rule, [1.0] * 9, gpu_time_s=10.0, wall_s=0.1))

    def test_goes_on_until_min_gpu_time(self):
        self.assertIsNone(stop_reason(self.rule, [1.0] * 50, gpu_time_s=0.05, wall_s=0.1))

    def test_converges_when_quiet_enough(self):
        self.assertEqual(stop_reason(self.rule, [1.0] * 50, gpu_time_s=0.3, wall_s=0.1), "converged")

    def test_noisy_samples_run_to_the_caps(self):
        noisy = [1.0, 2.0] * 25
        self.assertIsNone(stop_reason(self.rule, noisy, gpu_time_s=1.0, wall_s=1.0))
        self.assertEqual(stop_reason(self.rule, noisy, gpu_time_s=1.0, wall_s=5.0), "time_cap")
        self.assertEqual(stop_reason(self.rule, [1.0, 2.0] * 50, gpu_time_s=1.0, wall_s=1.0), "max_samples")


class ThrottleTest(unittest.TestCase):
    def test_drops_samples_under_three_quarters_of_max_clock(self):
        self.assertTrue(is_throttled(1474.0, 1980.0))  # 74.4%
        self.assertFalse(is_throttled(1485.0, 1980.0))  # 75.0%
        self.assertFalse(is_throttled(1980.0, 1980.0))

    def test_unknown_clock_keeps_the_sample(self):
        self.assertFalse(is_throttled(None, 1980.0))
        self.assertFalse(is_throttled(500.0, None))


if __name__ == "__main__":
    unittest.main()

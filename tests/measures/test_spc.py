"""lhn.measures.spc against published worked examples and the convention edge cases.

Sources (published numbers, to the precision printed):
- Montgomery, Introduction to Statistical Quality Control: Example 7.1 (orange-juice cans, p chart), Example 7.3
  (printed circuit boards, c chart), the personal-computer nonconformities example (u chart) and the aircraft
  primer paint viscosity example (I/MR chart). Data as shipped in the qcc R package (luca-scr/qcc, data/*.txt);
  the limits as printed in the qcc vignette "A quick tour of qcc" (Scrucca), which reproduces Montgomery.
- NIST/SEMATECH e-Handbook, section 6.3.3.2 (p chart of the same orange-juice data): p̄ = 0.2313.
- qicharts2 vignette (Anhøj), Appendix 2: critical values for the longest run and the number of crossings.
- Perla, Provost & Murray, BMJ Qual Saf 2011;20:46–51, Table 1 (the runs table, used verbatim).
"""

import itertools
import math

import pytest

from lhn.measures import spc

ORANGE_JUICE = [
    12,
    15,
    8,
    10,
    4,
    7,
    16,
    9,
    14,
    10,
    5,
    6,
    17,
    12,
    22,
    8,
    10,
    5,
    13,
    11,
    20,
    18,
    24,
    15,
    9,
    12,
    7,
    13,
    9,
    6,
]
CIRCUIT = [21, 24, 16, 12, 15, 5, 28, 20, 31, 25, 20, 24, 16, 19, 10, 17, 13, 22, 18, 39, 30, 24, 16, 19, 17, 15]
PC_NONCONFORMITIES = [10, 12, 8, 14, 10, 16, 11, 7, 10, 15, 9, 5, 7, 11, 12, 6, 8, 10, 7, 5]
VISCOSITY = [
    34.05,
    34.40,
    33.59,
    35.96,
    34.70,
    33.51,
    33.79,
    34.04,
    34.52,
    33.75,
    33.27,
    33.71,
    34.03,
    34.58,
    34.02,
    33.97,
    34.05,
    34.04,
    33.73,
    34.05,
]
# qicharts2 vignette, Appendix 2, n = 10..100: (upper limit for longest run, lower limit for crossings)
ANHOJ_APPENDIX_2 = {
    10: (6, 2),
    11: (6, 2),
    12: (7, 3),
    13: (7, 3),
    14: (7, 4),
    15: (7, 4),
    16: (7, 4),
    17: (7, 5),
    18: (7, 5),
    19: (7, 6),
    20: (7, 6),
    21: (7, 6),
    22: (7, 7),
    23: (8, 7),
    24: (8, 8),
    25: (8, 8),
    26: (8, 8),
    27: (8, 9),
    28: (8, 9),
    29: (8, 10),
    30: (8, 10),
    31: (8, 11),
    32: (8, 11),
    33: (8, 11),
    34: (8, 12),
    35: (8, 12),
    36: (8, 13),
    37: (8, 13),
    38: (8, 14),
    39: (8, 14),
    40: (8, 14),
    41: (8, 15),
    42: (8, 15),
    43: (8, 16),
    44: (8, 16),
    45: (8, 17),
    46: (9, 17),
    47: (9, 17),
    48: (9, 18),
    49: (9, 18),
    50: (9, 19),
    51: (9, 19),
    52: (9, 20),
    53: (9, 20),
    54: (9, 21),
    55: (9, 21),
    56: (9, 21),
    57: (9, 22),
    58: (9, 22),
    59: (9, 23),
    60: (9, 23),
    61: (9, 24),
    62: (9, 24),
    63: (9, 25),
    64: (9, 25),
    65: (9, 25),
    66: (9, 26),
    67: (9, 26),
    68: (9, 27),
    69: (9, 27),
    70: (9, 28),
    71: (9, 28),
    72: (9, 29),
    73: (9, 29),
    74: (9, 29),
    75: (9, 30),
    76: (9, 30),
    77: (9, 31),
    78: (9, 31),
    79: (9, 32),
    80: (9, 32),
    81: (9, 33),
    82: (9, 33),
    83: (9, 34),
    84: (9, 34),
    85: (9, 34),
    86: (9, 35),
    87: (9, 35),
    88: (9, 36),
    89: (9, 36),
    90: (9, 37),
    91: (10, 37),
    92: (10, 38),
    93: (10, 38),
    94: (10, 39),
    95: (10, 39),
    96: (10, 39),
    97: (10, 40),
    98: (10, 40),
    99: (10, 41),
    100: (10, 41),
}


def signals(chart, rule=None):
    return sorted({s.index + 1 for s in chart.signals if rule is None or s.rule == rule})


# --- published worked examples --------------------------------------------------------------------------


def test_p_chart_montgomery_7_1_trial_limits_and_out_of_control_samples():
    chart = spc.compute(spc.P, ORANGE_JUICE, [50] * 30)
    point = chart.points[0]
    assert round(point.cl, 4) == 0.2313  # NIST e-Handbook and Montgomery: p̄ = 347/1500
    assert round(point.cl, 7) == 0.2313333  # qcc vignette
    assert round(point.lcl, 8) == 0.05242755
    assert round(point.ucl, 7) == 0.4102391
    assert signals(chart, "sigma") == [15, 23]  # "new material" and "new operator"


def test_p_chart_montgomery_7_1_revised_limits_without_15_and_23():
    kept = [d for i, d in enumerate(ORANGE_JUICE, start=1) if i not in (15, 23)]
    chart = spc.compute(spc.P, kept, [50] * len(kept))
    point = chart.points[0]
    assert point.cl == pytest.approx(0.215, abs=5e-10)
    assert round(point.lcl, 8) == 0.04070284
    assert round(point.ucl, 7) == 0.3892972


def test_c_chart_montgomery_7_3_trial_and_revised():
    chart = spc.compute(spc.C, CIRCUIT)
    point = chart.points[0]
    assert round(point.cl, 5) == 19.84615
    assert round(point.lcl, 6) == 6.481447
    assert round(point.ucl, 5) == 33.21086
    assert signals(chart, "sigma") == [6, 20]
    kept = [c for i, c in enumerate(CIRCUIT, start=1) if i not in (6, 20)]
    revised = spc.compute(spc.C, kept).points[0]
    assert (round(revised.cl, 5), round(revised.lcl, 6), round(revised.ucl, 4)) == (19.66667, 6.362532, 32.9708)


def test_u_chart_montgomery_personal_computers():
    chart = spc.compute(spc.U, PC_NONCONFORMITIES, [5] * 20)
    point = chart.points[0]
    assert point.cl == pytest.approx(1.93)
    assert round(point.lcl, 8) == 0.06613305
    assert round(point.ucl, 6) == 3.793867
    assert signals(chart, "sigma") == []


def test_i_mr_chart_montgomery_viscosity():
    chart = spc.compute(spc.I, VISCOSITY)
    point, phase = chart.points[0], chart.phases[0]
    assert round(point.cl, 3) == 34.088
    assert round(point.lcl, 5) == 32.56504
    assert round(point.ucl, 5) == 35.61096
    assert round(phase.mr_cl, 4) == 0.5726  # MR̄ = 10.88 / 19
    assert round(phase.mr_ucl, 3) == 1.871  # D4 · MR̄
    assert chart.moving_ranges[0] is None
    assert chart.moving_ranges[1] == pytest.approx(0.35)


def test_anhoj_critical_values_match_the_qicharts2_appendix():
    for n, (longest, crossings) in ANHOJ_APPENDIX_2.items():
        assert (spc.longest_run_max(n), spc.crossings_min(n)) == (longest, crossings), n


def test_perla_table_is_used_verbatim_and_the_exact_distribution_beyond_it():
    assert spc.runs_limits(10, 5, 5) == (3, 9)
    assert spc.runs_limits(15, 7, 8) == (5, 12)
    assert spc.runs_limits(16, 8, 8) == (5, 13)  # Perla, not Balestracci's 5–12
    assert spc.runs_limits(20, 10, 10) == (6, 16)  # the table, though the exact distribution gives 7–15
    assert spc.runs_limits(60, 30, 30) == (24, 38)
    assert spc.runs_limits(9, 5, 4) is None  # rules apply from 10 useful points
    assert spc.swed_eisenhart_limits(10, 10) == (7, 15)
    low, high = spc.runs_limits(80, 40, 40)
    assert (low, high) == spc.swed_eisenhart_limits(40, 40)
    assert 30 < low < 41 < high < 52


def test_laney_p_prime_follows_the_published_formula():
    """Laney 2002 as Minitab and qicharts2 document it: σz = mean|zᵢ − zᵢ₋₁| / 1.128 of the baseline z-scores."""
    num = [266501, 264225, 276532, 281461, 269071, 261215, 270124, 276018]
    den = [280443, 276823, 291681, 296155, 282343, 275888, 284011, 289420]
    chart = spc.compute(spc.PP, num, den)
    p_bar = sum(num) / sum(den)
    sigma = [(p_bar * (1 - p_bar) / n) ** 0.5 for n in den]
    z = [(a / n - p_bar) / s for a, n, s in zip(num, den, sigma, strict=True)]
    sigma_z = sum(abs(b - a) for a, b in itertools.pairwise(z)) / (len(z) - 1) / 1.128
    assert chart.phases[0].sigma_z == pytest.approx(sigma_z, rel=1e-12)
    for point, s in zip(chart.points, sigma, strict=True):
        assert point.ucl == pytest.approx(p_bar + 3 * s * sigma_z, rel=1e-12)
    plain = spc.compute(spc.P, num, den)
    assert sigma_z > 1  # over-dispersed: the p chart's limits are too narrow ...
    assert len(plain.signals) > len(chart.signals)  # ... and flag points the p′ chart doesn't


def test_laney_u_prime_and_limits_vary_with_the_denominator():
    chart = spc.compute(spc.UP, [30, 45, 28, 60, 38], [10000, 15000, 9000, 20000, 12000])
    widths = [p.ucl - p.cl for p in chart.points]
    assert widths[3] < widths[2]  # a larger denominator gives narrower limits
    assert chart.phases[0].sigma_z is not None


# --- convention edge cases ---------------------------------------------------------------------------


def test_a_point_exactly_on_the_limit_is_not_a_signal():
    on_limit = spc.compute(spc.C, [4, 2, 3, 4, 5, 3, 4, 10, 1])  # c̄ = 4, σ = 2: UCL = 10 exactly
    assert on_limit.points[0].ucl == 10
    assert signals(on_limit, "sigma") == []
    beyond = spc.compute(spc.C, [4, 2, 3, 4, 5, 3, 4, 11, 0])  # still c̄ = 4; 11 is strictly above
    assert signals(beyond, "sigma") == [8]
    assert spc.beyond(0.1 + 0.2, None, 0.3) is False  # floating rounding doesn't make a point "beyond"


def test_points_on_the_median_neither_add_to_nor_break_a_run():
    values = [4, 4, 4, 3, 4, 4, 4, 1, 2, 2, 1, 2, 3, 3]  # median 3
    chart = spc.compute(spc.RUN, values, rules=spc.IHI)
    assert chart.phases[0].cl == 3
    assert chart.phases[0].n_useful == 11  # the three 3s are not useful
    assert signals(chart, "ihi_shift") == [1, 2, 3, 5, 6, 7]  # six above, the 3 on the median skipped
    assert chart.phases[0].longest_run == 6


def test_ties_in_a_trend_count_once():
    assert spc.trends([1, 2, 2, 3, 4, 5]) == [[0, 1, 2, 3, 4, 5]]  # five distinct rising steps: a trend
    assert spc.trends([1, 2, 2, 3, 4]) == []  # only four
    assert spc.trends([5, 4, 4, 4, 3, 2, 1, 1]) == [[0, 1, 2, 3, 4, 5, 6, 7]]
    assert spc.trends([1, 2, 3, 4, 5, 4, 3, 2, 1]) == [[0, 1, 2, 3, 4], [4, 5, 6, 7, 8]]
    assert spc.trends([1, None, 2, 3, 4, 5]) == [[0, 2, 3, 4, 5]]  # a missing month doesn't break it


def test_ihi_rules_need_ten_useful_points():
    short = spc.compute(spc.RUN, [1, 2, 3, 4, 5, 6, 7, 8, 9], rules=spc.IHI)
    assert short.signals == []
    longer = spc.compute(spc.RUN, [3, 1, 2, 3, 4, 5, 6, 9, 8, 7, 6, 2], rules=spc.IHI)  # 12 useful
    assert 2 in signals(longer, "ihi_trend")


def test_ihi_too_few_runs_is_a_phase_signal():
    low, high = [1.1, 1.2, 1.3, 1.4, 1.5, 1.6], [9.1, 9.2, 9.3, 9.4, 9.5, 9.6]
    chart = spc.compute(spc.RUN, [*low[:5], *high, low[5]], rules=spc.IHI)  # median 5.35, 12 useful
    assert chart.phases[0].runs == 3
    assert chart.phases[0].runs_limits == (3, 11)
    assert chart.phase_signals() == []  # 3 runs is the lower limit itself: not fewer
    tight = spc.compute(spc.RUN, [*low, *high], rules=spc.IHI)  # 2 runs < 3
    assert [(s.rule, s.scope) for s in tight.phase_signals()] == [("ihi_runs_few", "phase")]


def test_anhoj_long_run_flags_the_run_and_few_crossings_flag_the_phase():
    values = [5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9]
    chart = spc.compute(spc.RUN, values)
    assert chart.phases[0].cl == 6
    run_points = signals(chart, "anhoj_run")
    assert run_points == list(range(13, 23))  # 10 above the median > round(log2(n)) + 3
    assert chart.phases[0].longest_run > chart.phases[0].longest_run_max


def test_western_electric_rules_on_the_orange_juice_trial_chart():
    chart = spc.compute(spc.P, ORANGE_JUICE, [50] * 30, rules=spc.WESTERN_ELECTRIC)
    assert signals(chart, "we1") == [15, 23]
    assert signals(chart, "we2") == [22, 23, 24]  # the window of 3 that completes the pattern
    assert signals(chart, "we3") == [24, 25]
    assert signals(chart, "we4") == []


def test_we4_needs_eight_in_a_row_on_one_side():
    values = [10.0, 9, 11, 10, 9, 11, 12, 12, 12, 12, 12, 12, 12, 12, 8, 8, 9, 10]
    chart = spc.compute(spc.I, values, rules=spc.WESTERN_ELECTRIC)
    assert signals(chart, "we4") == [13, 14]  # 11 at point 6 starts the run: points 13 and 14 are its 8th and 9th


def test_baseline_freezes_limits_and_a_phase_starts_new_ones():
    values = [10, 11, 9, 10, 12, 8, 10, 11, 9, 10, 20, 21, 19, 20, 22, 18, 20, 21]
    frozen = spc.compute(spc.I, values, baseline=10)
    assert frozen.points[0].cl == frozen.points[-1].cl == 10  # new data doesn't move the frozen centre
    assert frozen.phases[0].baseline_end == 9
    assert all(p.baseline for p in frozen.points[:10])
    assert not any(p.baseline for p in frozen.points[10:])
    assert signals(frozen, "sigma")[:1] == [11]  # the shift is a signal against the frozen limits
    phased = spc.compute(spc.I, values, phases=[10])
    assert phased.points[0].cl == 10
    assert phased.points[-1].cl == pytest.approx(20.125)
    assert signals(phased, "sigma") == []
    assert [ph.start for ph in phased.phases] == [0, 10]


def test_missing_points_and_bad_input():
    chart = spc.compute(spc.P, [5, None, 7, 6], [50, None, 50, 0])
    assert [p.y for p in chart.points] == [0.1, None, 0.14, None]
    assert chart.points[1].ucl is None
    with pytest.raises(ValueError, match="denominators"):
        spc.compute(spc.P, [1, 2])
    with pytest.raises(ValueError, match="rule set"):
        spc.compute(spc.C, [1, 2], rules="nelson")


# --- any stored data: no points, no spread, too few points, numbers that overflow (issue 9) ------------------


@pytest.mark.parametrize("kind", spc.CHARTS)
@pytest.mark.parametrize("rules", spc.RULESETS)
def test_no_points_make_an_empty_chart(kind, rules):
    chart = spc.compute(kind, [], [] if kind in spc.NEEDS_DENOMINATOR else None, rules=rules)
    assert (chart.points, chart.phases, chart.signals, chart.moving_ranges) == ([], [], [], [])


@pytest.mark.parametrize(
    ("kind", "num", "den"),
    [
        (spc.I, [7.5] * 12, None),  # MR̄ = 0
        (spc.C, [0] * 12, None),  # c̄ = 0
        (spc.P, [0] * 12, [50] * 12),  # p̄ = 0
        (spc.P, [50] * 12, [50] * 12),  # p̄ = 1
        (spc.PP, [40] * 12, [50] * 12),  # Laney: every z is 0, so σz = 0
        (spc.U, [0] * 12, [1000] * 12),  # ū = 0
        (spc.UP, [30] * 12, [1000] * 12),
    ],
)
@pytest.mark.parametrize("rules", spc.RULESETS)
def test_no_spread_draws_no_limits_and_flags_nothing(kind, num, den, rules):
    """σ = 0 would make limits on the centre line, and every later point that moves at all a signal."""
    chart = spc.compute(kind, [*num, num[0] + 1], den and [*den, den[0]], baseline=12, rules=rules)
    assert all(p.lcl is None and p.ucl is None and p.sigma is None for p in chart.points)
    assert chart.points[0].cl is not None
    assert [s.rule for s in chart.signals if s.rule in ("sigma", "we1", "we2", "we3")] == []


def test_one_or_two_points_flag_nothing_under_any_rules():
    for rules in spc.RULESETS:
        for values in ([5.0], [5.0, 9.0]):
            assert spc.compute(spc.I, values, rules=rules).signals == []
            assert spc.compute(spc.RUN, values, rules=rules).signals == []
    assert spc.compute(spc.I, [5.0]).points[0].ucl is None  # one point has no moving range: no σ


def test_a_phase_of_missing_values_has_no_centre_and_no_signals():
    chart = spc.compute(spc.I, [5.0, 6.0, None, None, None, 7.0, 7.0], phases=[2, 5], rules=spc.WESTERN_ELECTRIC)
    assert [(ph.start, ph.end, ph.cl) for ph in chart.phases] == [(0, 1, 5.5), (2, 4, None), (5, 6, 7.0)]
    assert chart.signals == []


HUGE = 1.7e308


def test_numbers_that_overflow_are_missing_never_inf_or_nan():
    """Sums, means, moving ranges and limits of the largest floats overflow: they are left out, as missing."""
    count = spc.compute(spc.C, [HUGE, HUGE, HUGE])
    assert [p.y for p in count.points] == [HUGE] * 3
    assert count.phases[0].cl is None  # Σc overflows
    swing = spc.compute(spc.I, [HUGE, -HUGE, HUGE], rules=spc.WESTERN_ELECTRIC)
    assert swing.moving_ranges == [None, None, None]  # |−HUGE − HUGE| overflows
    assert swing.phases[0].mr_cl is None
    assert all(p.ucl is None for p in swing.points)
    rate = spc.compute(spc.U, [HUGE, HUGE], [1e-300, 1])  # HUGE / 1e-300 overflows
    assert rate.points[0].y is None
    for chart in (count, swing, rate):
        numbers = [v for p in chart.points for v in (p.y, p.cl, p.lcl, p.ucl, p.sigma) if v is not None]
        assert all(math.isfinite(v) for v in numbers)


def test_the_run_statistics_of_a_long_series_take_linear_time():
    """Exact binomials of thousands of points took seconds (Anhøj's crossings) on every chart view; in
    logarithms they take milliseconds, and agree with the exact integers wherever those are cheap to get."""

    def exact_crossings_min(n):  # qbinom(0.05, n − 1, 0.5) in integers
        total, cumulative = 2 ** (n - 1), 0
        for k in range(n):
            cumulative += math.comb(n - 1, k)
            if cumulative * 20 >= total:
                return k
        return n - 1

    assert [spc.crossings_min(n) for n in range(1, 400)] == [exact_crossings_min(n) for n in range(1, 400)]
    assert spc.swed_eisenhart_limits(1, 79) == (3, 3)  # P(2 runs) = 2/80, exactly 2.5%: in the tail, as in fractions
    values = [i % 7 for i in range(10_000)]
    chart = spc.compute(spc.RUN, values)
    assert chart.phases[0].crossings_min == spc.crossings_min(chart.phases[0].n_useful)
    assert spc.compute(spc.RUN, values, rules=spc.IHI).phases[0].runs_limits is not None


def test_p_chart_montgomery_7_1_excluding_15_and_23_from_the_baseline_keeps_them_on_the_chart():
    # The QI lead's way: the two points stay plotted (and marked), only the limits leave them out.
    chart = spc.compute(spc.P, ORANGE_JUICE, [50] * 30, excluded={14, 22})
    point = chart.points[0]
    assert round(point.cl, 4) == 0.2150  # Montgomery's revised p̄ = 301/1400
    assert round(point.lcl, 8) == 0.04070284
    assert round(point.ucl, 7) == 0.3892972
    assert [p.index + 1 for p in chart.points if p.excluded] == [15, 23]
    assert not chart.points[14].baseline
    assert chart.points[13].baseline
    # Against the revised limits 15 and 23 stay beyond the UCL, and sample 21 (20/50 = 0.40 > 0.3893) now is too:
    # Montgomery's discussion of the revised chart, which keeps 21 in the baseline (no assignable cause found).
    assert signals(chart, "sigma") == [15, 21, 23]


def test_an_excluded_point_leaves_the_moving_ranges_of_an_i_chart():
    values = [10, 11, 10, 40, 11, 10, 12, 11]
    kept = spc.compute(spc.I, values, excluded={3})
    by_hand = [abs(b - a) for a, b in itertools.pairwise([10, 11, 10])] + [abs(10 - 11), abs(12 - 10), abs(11 - 12)]
    assert kept.points[0].cl == pytest.approx(sum(v for i, v in enumerate(values) if i != 3) / 7)
    assert kept.phases[0].mr_cl == pytest.approx(sum(by_hand) / len(by_hand))
    assert kept.points[3].excluded
    assert spc.compute(spc.I, values).phases[0].mr_cl > kept.phases[0].mr_cl

"""Chart computation for 100 sites × 60 months with every rule set (pure lhn.measures.spc, no database).

Run: .venv/bin/python bench/measures_charts.py
Reports the time to compute every site's chart plus the network aggregate, per chart type and rule set, and
as a ratio to a baseline measured in the same run (summing the same numbers in plain Python), because this
machine is shared and absolute times drift. Also the suppression for one reader over the same 6,000 cells.
"""

from __future__ import annotations

import random
import statistics
import time

from lhn.measures import spc
from lhn.measures.services import privacy

SITES, MONTHS, REPEAT = 100, 60, 5


def make_data(seed: int = 7) -> list[tuple[list[float], list[float]]]:
    rng = random.Random(seed)
    series = []
    for site in range(SITES):
        size = rng.randint(20, 400)
        level = rng.uniform(0.4, 0.8)
        den = [float(size + rng.randint(-size // 5, size // 5)) for _ in range(MONTHS)]
        num = [
            float(sum(rng.random() < (level + (0.1 if m > 40 and site % 3 == 0 else 0)) for _ in range(int(n))))
            for m, n in enumerate(den)
        ]
        series.append((num, den))
    return series


def network(series: list[tuple[list[float], list[float]]]) -> tuple[list[float], list[float]]:
    return (
        [sum(s[0][m] for s in series) for m in range(MONTHS)],
        [sum(s[1][m] for s in series) for m in range(MONTHS)],
    )


def timed(func) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        func()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def main() -> None:
    series = make_data()
    total = network(series)

    def baseline() -> None:  # the same loops, summing instead of charting
        for num, den in [*series, total]:
            sum(a / b for a, b in zip(num, den, strict=True))

    base = timed(baseline)
    print(f"{SITES} sites × {MONTHS} months (+ network aggregate), median of {REPEAT} runs")
    print(f"{'chart':<8}{'rule set':<20}{'seconds':>10}{'per chart (ms)':>16}{'× baseline':>12}")
    grand = 0.0
    for kind in (spc.RUN, spc.P, spc.PP, spc.U, spc.UP, spc.C, spc.I):
        for rules in spc.RULESETS:

            def run(kind: str = kind, rules: str = rules) -> None:
                for num, den in [*series, total]:
                    if kind in spc.NEEDS_DENOMINATOR or kind == spc.RUN:
                        spc.compute(kind, num, den, baseline=24, rules=rules)
                    else:
                        spc.compute(kind, num, baseline=24, rules=rules)

            seconds = timed(run)
            grand += seconds
            print(f"{kind:<8}{rules:<20}{seconds:>10.4f}{seconds / (SITES + 1) * 1000:>16.3f}{seconds / base:>12.0f}")
    print(f"{'all':<28}{grand:>10.4f}{'':>16}{grand / base:>12.0f}")
    cells = {
        (s, m): privacy.counts_of("proportion", num[m], den[m])
        for s, (num, den) in enumerate(series)
        for m in range(MONTHS)
    }
    seconds = timed(lambda: privacy.suppress(cells, known_sites={0}))
    print(f"suppression for one reader over {len(cells)} cells: {seconds:.4f} s ({seconds / base:.0f} × baseline)")
    print(f"baseline (plain sums over the same data): {base * 1000:.3f} ms")


if __name__ == "__main__":
    main()

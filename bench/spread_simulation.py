"""How many of N independent clients fall into the busiest 100 ms when each draws its moment
uniformly over a window - the figure behind benchmark 5's spread (docs/performance.md).

    .venv/bin/python bench/spread_simulation.py [--clients 100] [--runs 2000] [--seed 1]

Prints, for windows of 2 to 5 s, the median and the 95th percentile (over the runs) of the most
moments within any 100 ms (sliding, starting at a moment). No lab, no OVSDB: arithmetic only.
"""

import argparse
import bisect
import random

WINDOWS = (2.0, 2.5, 3.0, 3.5, 4.0, 5.0)
SLOT = 0.1


def busiest(moments):
    """The most moments within any SLOT seconds (sorted input)."""
    return max(bisect.bisect_left(moments, start + SLOT) - index for index, start in enumerate(moments))


def simulate(window, clients, runs, rng):
    peaks = sorted(busiest(sorted(rng.uniform(0.0, window) for _client in range(clients))) for _run in range(runs))
    return peaks[len(peaks) // 2], peaks[int(len(peaks) * 0.95)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    rng = random.Random(options.seed)
    print("window (s) | busiest 100 ms, median | 95th percentile   (%d clients, %d runs)" % (options.clients, options.runs))
    for window in WINDOWS:
        median, p95 = simulate(window, options.clients, options.runs, rng)
        print("%10.1f | %22d | %d" % (window, median, p95))


if __name__ == "__main__":
    main()

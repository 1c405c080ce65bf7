"""Experiment record (session 32): the voice gate's low-band check against the truth, in shipped reports.

Not shipped code. Session 31's gate_high_band.py for `low_band_excess_db` (the generative output's energy
below the input's low cut-off over the larger of LTAS-EQ's and the clean reference's) against the output's
energy below the degradation's high-pass corner vs the clean render (`low_band_db` of the `babe2` row).

Usage (PYTHONPATH=docs/benchmarks/session31): python gate_low_band.py REPORT.json [...]
"""
import sys

from gate_high_band import against_truth

against_truth(sys.argv[1:], "low_band_excess_db", "low_band_db")

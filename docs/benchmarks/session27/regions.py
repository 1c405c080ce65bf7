"""Experiment record (session 27): the LTAS-error curve of a row cut into regions around the true cut-offs.

Not shipped code; floor_regions.py and chain_regions.py share it (session 20's error_mass.py did the same
cut for its own rows). The curve is `ltas_error_db`'s own: third-octave LTAS difference from the clean
render on 256 log points, pass band only, mean removed.
"""
import numpy as np

from shellac.lab.evaluation.metrics import interp_log_freq, log_grid, pass_band
from shellac.lab.evaluation.spectral_balance import BALANCE_N_FFT, smoothed_ltas_db
from shellac.lab.heldout.runner import HeldoutExcerpt

REGIONS = ("below hp", "hp..2hp", "2hp..lp/2", "lp/2..lp", "above lp")


class RegionTally:
    """Per row: the mean squared error each region adds (dB^2) and its mean signed error, over excerpts."""

    def __init__(self) -> None:
        self.mass: dict[str, np.ndarray] = {}
        self.signed: dict[str, list[np.ndarray]] = {}

    def add(self, name: str, e: HeldoutExcerpt, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Tally row ``name``'s output ``y`` of excerpt ``e``; its LTAS error and signed error per region."""
        sr, p = e.sample_rate, e.params
        grid = log_grid(sr / 2.0)
        freqs = np.fft.rfftfreq(BALANCE_N_FFT, d=1.0 / sr)
        band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), sr / 2.0)
        g = grid[band]
        region = np.select([g < p.highpass_hz, g < 2 * p.highpass_hz, g < p.lowpass_hz / 2,
                            g < p.lowpass_hz], [0, 1, 2, 3], 4)
        diff = interp_log_freq(grid, freqs, smoothed_ltas_db(y, sr) - smoothed_ltas_db(e.clean, sr))[band]
        d = diff - diff.mean()
        per = np.array([d[region == r].mean() if (region == r).any() else np.nan for r in range(5)])
        self.mass[name] = self.mass.get(name, 0) + np.array([np.sum(d[region == r] ** 2) / d.size
                                                             for r in range(5)])
        self.signed.setdefault(name, []).append(per)
        return float(np.sqrt(np.mean(d ** 2))), per

    def print(self, name_width: int, column_width: int) -> None:
        """The table of means over the excerpts tallied."""
        k = len(next(iter(self.signed.values())))
        print(f"\nmean square by region (dB^2), {k} excerpts; then mean signed difference (dB)")
        print(f"{'row':{name_width}s}" + "".join(f"{r:>{column_width}s}" for r in REGIONS) + f"{'total':>8s}")
        for name, mass in self.mass.items():
            print(f"{name[:name_width]:{name_width}s}" + "".join(f"{m / k:{column_width}.2f}" for m in mass)
                  + f"{mass.sum() / k:8.2f}")
            print(f"{'  signed':{name_width}s}" + "".join(
                f"{v:{column_width}.2f}" for v in np.nanmean(np.array(self.signed[name]), axis=0)))

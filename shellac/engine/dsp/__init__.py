"""Signal processing: LTAS and LTAS-EQ, spectral-gating denoise, resampling."""

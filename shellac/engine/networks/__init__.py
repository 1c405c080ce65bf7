"""Denoiser networks: the fast 1-D U-Net family and BABE-2's CQT U-Net, behind a family registry."""

"""Stages: one module per restoration step, plain functions with frozen pydantic parameters."""

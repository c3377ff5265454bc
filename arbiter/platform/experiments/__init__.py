"""Experiments at run time: sticky assignments, exposures, operator start/stop, conversions
joined from order events, and the report (figures from `arbiter.engine.experiment_stats`)."""

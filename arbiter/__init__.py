"""arbiter: a rule-engine-centric promotion and decision platform for e-commerce."""

__version__ = "0.1.0"

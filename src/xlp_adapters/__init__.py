"""Adapters implementing the xlp-core ports (exchanges, pools, stores, audit)."""

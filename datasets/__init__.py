"""Synthetic GP mentoring schemes for demos, tests and benchmarks, and the shipped samples.

The API lives in ``datasets.generator`` (``generate``, ``write_dataset``, ``SAMPLES``,
``sample_dir``); it is not re-exported here so that ``python -m datasets.generator`` runs
without the module being imported twice.
"""

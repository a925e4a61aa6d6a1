"""A simulated LLM inference service that uses the generated ryot_metrics module.

Run it from the repository root (generated/python is put on the import path when missing):

    python -m examples.demo --port 8000 --speed 1

`ryotgen demo` starts one per scrape target of the spec, with that target's baseline profile.
"""

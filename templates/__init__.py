"""Jinja templates for generated Python source (shipped in the wheel as ryotgen.templates)."""

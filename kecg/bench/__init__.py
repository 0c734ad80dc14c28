"""Benchmarks: ``python -m kecg.bench <name> [args]`` runs ``kecg.bench.<name>.main(args)``."""

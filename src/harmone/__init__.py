"""HarmonE: self-adaptive MLOps that balances accuracy and energy at runtime."""

__version__ = "0.1.0"

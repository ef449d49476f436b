"""navagent: vision-and-language navigation with a VILA-style video VLM."""

__version__ = "0.1.0"

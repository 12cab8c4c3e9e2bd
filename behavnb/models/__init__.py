"""Models: plain ``nn.Module``s with a config dataclass (``vame``; ``vqmap`` and ``gpt`` follow).

Importing ``behavnb.models.vame`` imports torch; ``import behavnb`` does not.
"""

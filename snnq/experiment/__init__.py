"""Recipes: Hydra configs that train, convert, verify and measure a network, and the leaderboard of their results."""

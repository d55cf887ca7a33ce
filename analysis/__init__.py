"""Text and models: brand matching, sentiment model loading, prediction, evaluation and training."""

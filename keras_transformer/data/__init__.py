"""Data loading and preparation for keras_transformer."""

"""SavedModel export for serving: text in, text (or labels) out."""

from keras_transformer.export.saved_model import export_run, server_for_run

__all__ = ["export_run", "server_for_run"]

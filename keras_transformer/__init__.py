"""keras_transformer: the Transformer of Vaswani et al. (2017) in Keras 3.

Importing the package registers every serializable class (layers, models'
pooling, the learning-rate schedule, losses and metrics), so
``keras.saving.load_model("model.keras")`` works after ``import
keras_transformer``.
"""

from keras_transformer import layers, models, training

__version__ = "0.1.0"

__all__ = ["layers", "models", "training", "__version__"]

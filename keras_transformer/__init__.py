"""keras_transformer: the Transformer of Vaswani et al. (2017) in Keras 3."""

from keras_transformer import layers

__version__ = "0.1.0"

__all__ = ["layers", "__version__"]

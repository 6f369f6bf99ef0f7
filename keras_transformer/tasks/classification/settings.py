"""The settings of a classification experiment (``task_settings:``)."""

import dataclasses
from typing import Literal


@dataclasses.dataclass
class ClassificationSettings:
    """How the encoder's states become one vector for the class head."""

    #: "mean" (the masked mean of the states), "first" (the state of a BOS
    #: class token) or "pooler" (BERT's: the first state through a dense
    #: tanh layer).
    pooling: Literal["mean", "first", "pooler"] = "mean"

"""The settings of a question-answering experiment (``task_settings:``)."""

import dataclasses

from keras_transformer.setting import setting


@dataclasses.dataclass
class QuestionAnsweringSettings:
    """How a long context is read in windows, and how long an answer may
    be."""

    #: context tokens between the starts of two windows over a long
    #: context (windows overlap when it is shorter than a window).
    doc_stride: int = setting(64, minimum=1)
    #: the most tokens of a predicted answer.
    max_answer_length: int = setting(30, minimum=1)

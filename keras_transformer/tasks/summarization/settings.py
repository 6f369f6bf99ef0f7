"""The settings of a summarisation experiment (``task_settings:``)."""

import dataclasses
from typing import Optional

from keras_transformer.setting import setting


@dataclasses.dataclass
class SummarizationSettings:
    """Where documents and summaries are in the data, and how long a
    generated summary may be."""

    #: the JSON key (or tfds feature) of the document (SAMSum's by
    #: default; XSum: "document").
    document_key: str = "dialogue"
    #: the JSON key (or tfds feature) of its summary.
    summary_key: str = "summary"
    #: the most tokens of a generated summary (null: training.max_length).
    max_summary_length: Optional[int] = setting(None, minimum=1)

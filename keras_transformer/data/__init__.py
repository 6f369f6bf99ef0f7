"""Data for every task: where examples come from and how they become
batches.

- ``readers``: local files (translation pairs, parallel files, labelled
  TSV/CSV, text), ``conll`` and ``squad`` for their formats;
- ``tfds_sources``: tensorflow-datasets splits;
- ``splitting``: train/validation/test cuts of data without splits;
- ``builtin_tasks``: generated data that needs no download;
- ``datasets``: a task's splits from its ``data`` settings;
- ``pipeline`` and ``batch_shapes``: tokenizing, bucketing and batching;
- ``tokenizers``: one tokenizer per module, and the trainer.
"""

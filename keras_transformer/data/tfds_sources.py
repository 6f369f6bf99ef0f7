"""Loading a split of a tensorflow-datasets (``tfds``) data set:
:func:`tfds_translation`, :func:`tfds_classification`, :func:`tfds_text`
and :func:`tfds_texts`, downloading and preparing it first when it is not
prepared yet, with a one-line error naming the fix when that cannot be
done (no network). tfds and TensorFlow are imported only when one of them
is called.
"""

from __future__ import annotations


def tfds_module():
    """``tensorflow_datasets``, imported when first needed."""
    import tensorflow_datasets as tfds

    return tfds


def dataset_builder(name, data_dir):
    """The tfds builder of ``name`` in ``data_dir``.

    Raises:
        ValueError: tfds knows no such data set or cannot build it.
    """
    tfds = tfds_module()
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError as err:
        raise ValueError(
            f"tensorflow-datasets does not know a dataset named {name!r}. "
            f"Check the spelling, e.g. 'ted_hrlr_translate/pt_to_en', "
            f"'wmt14_translate/de-en' or 'imdb_reviews'; "
            f"tfds.list_builders() lists them all."
        ) from err
    except ValueError as err:
        lines = str(err).splitlines() or [type(err).__name__]
        detail = lines[0].strip().rstrip(":") + "."
        raise ValueError(
            f"tensorflow-datasets cannot build {name!r}: {detail} Check the "
            f"dataset/config name."
        ) from err


def _not_prepared_error(name, builder, err):
    detail = f"{type(err).__name__}: {err}"
    if len(detail) > 300:
        detail = detail[:300] + "..."
    return FileNotFoundError(
        f"The tensorflow-datasets data for {name!r} is not prepared in "
        f"{builder.data_dir!r} and could not be downloaded ({detail}). This "
        f"machine may have no internet access: run "
        f"`tfds.builder({name!r}, data_dir=DIR).download_and_prepare()` on a "
        f"machine with internet, copy DIR here and pass data_dir=DIR (or set "
        f"the TFDS_DATA_DIR environment variable)."
    )


def load_split(builder, name, split):
    """Prepares ``builder`` if needed and returns ``split`` as a dataset."""
    try:
        builder.download_and_prepare()
    except Exception as err:  # download errors come in many types
        raise _not_prepared_error(name, builder, err) from err
    try:
        return builder.as_dataset(split=split)
    except AssertionError as err:  # tfds's "could not find data"
        raise _not_prepared_error(name, builder, err) from err


def feature_names(builder):
    """The names of the features of a tfds ``builder``'s examples."""
    return list(builder.info.features.keys())


def _supervised_pair(builder):
    keys = builder.info.supervised_keys
    if (
        isinstance(keys, (tuple, list))
        and len(keys) == 2
        and all(isinstance(k, str) for k in keys)
    ):
        return tuple(keys)
    return None


def check_feature(name, builder, argument, key, section="data"):
    """Refuses a ``key`` that is not a feature of the tfds ``builder``.

    Raises:
        ValueError: naming the setting (``section.argument``) and the
            features there are.
    """
    available = feature_names(builder)
    if key not in available:
        raise ValueError(
            f"{argument}={key!r} ({section}.{argument} in an experiment) is "
            "not "
            f"a feature of {name!r}. Available feature names: {available}."
        )


def tfds_translation(
    name, split, source_language=None, target_language=None, data_dir=None
):
    """Loads a tfds translation data set as ``(source, target)`` strings.

    Args:
        name: The tfds name with its config, e.g.
            ``"ted_hrlr_translate/pt_to_en"`` or ``"wmt14_translate/de-en"``.
        split: A tfds split such as ``"train"``, ``"validation"`` or
            ``"train[:10%]"``.
        source_language: Feature name of the source side (e.g. ``"pt"``);
            ``None`` takes the first of the builder's ``supervised_keys``.
        target_language: Feature name of the target side; ``None`` takes
            the second of the ``supervised_keys``.
        data_dir: Where tfds keeps prepared data; ``None`` uses the tfds
            default (``~/tensorflow_datasets`` or ``TFDS_DATA_DIR``).

    Returns:
        A ``tf.data.Dataset`` of ``(source, target)`` pairs of scalar
        ``tf.string`` tensors.

    Raises:
        ValueError: If tfds does not know ``name``, or a language is not a
            feature of the data set (the message lists the features).
        FileNotFoundError: If the data is not prepared and cannot be
            downloaded (the message says how to prepare it elsewhere).

    Example:
        >>> ds = tfds_translation(
        ...     "ted_hrlr_translate/pt_to_en", "train"
        ... )  # doctest: +SKIP
        >>> # English -> Portuguese instead:
        >>> ds = tfds_translation(
        ...     "ted_hrlr_translate/pt_to_en", "train", "en", "pt"
        ... )  # doctest: +SKIP
    """
    builder = dataset_builder(name, data_dir)
    defaults = _supervised_pair(builder) or tuple(feature_names(builder)[:2])
    if len(defaults) < 2 and (
        source_language is None or target_language is None
    ):
        raise ValueError(
            f"{name!r} has no supervised keys to take the languages from. "
            f"Pass source_language= and target_language= from its feature "
            f"names: {feature_names(builder)}."
        )
    source = defaults[0] if source_language is None else source_language
    target = defaults[1] if target_language is None else target_language
    check_feature(name, builder, "source_language", source)
    check_feature(name, builder, "target_language", target)
    dataset = load_split(builder, name, split)
    return dataset.map(lambda example: (example[source], example[target]))


def tfds_classification(
    name, split, text_key=None, label_key="label", data_dir=None
):
    """Loads a tfds text classification data set as ``(text, label)``.

    Args:
        name: The tfds name, e.g. ``"imdb_reviews"`` or
            ``"ag_news_subset"``.
        split: A tfds split such as ``"train"`` or ``"test"``.
        text_key: The text feature; ``None`` takes the first of the
            builder's ``supervised_keys`` (``"text"`` for imdb_reviews,
            ``"description"`` for ag_news_subset), else ``"text"``.
        label_key: The label feature; it must be a ``ClassLabel``.
        data_dir: Where tfds keeps prepared data; ``None`` uses the tfds
            default.

    Returns:
        A pair ``(dataset, class_names)``: a ``tf.data.Dataset`` of
        ``(text, label)`` with a scalar ``tf.string`` text and a scalar
        ``tf.int64`` label, and the list of class names, where
        ``class_names[label]`` names the class.

    Raises:
        ValueError: If tfds does not know ``name``, ``text_key`` or
            ``label_key`` is not a feature (the message lists them), or the
            label feature is not a ``ClassLabel``.
        FileNotFoundError: If the data is not prepared and cannot be
            downloaded.

    Example:
        >>> ds, names = tfds_classification(
        ...     "ag_news_subset", "train"
        ... )  # doctest: +SKIP
        >>> names  # doctest: +SKIP
        ['World', 'Sports', 'Business', 'Sci/Tech']
    """
    tfds = tfds_module()
    import tensorflow as tf

    builder = dataset_builder(name, data_dir)
    if text_key is None:
        keys = _supervised_pair(builder)
        text_key = keys[0] if keys else "text"
    check_feature(name, builder, "text_key", text_key)
    check_feature(name, builder, "label_key", label_key)
    label_feature = builder.info.features[label_key]
    if not isinstance(label_feature, tfds.features.ClassLabel):
        raise ValueError(
            f"label_key={label_key!r} of {name!r} is a "
            f"{type(label_feature).__name__}, not a ClassLabel. Pass the "
            f"name of the class label feature."
        )
    dataset = load_split(builder, name, split)
    dataset = dataset.map(
        lambda example: (
            example[text_key],
            tf.cast(example[label_key], tf.int64),
        )
    )
    return dataset, list(label_feature.names)


def tfds_text(name, split, text_key="text", data_dir=None):
    """Loads the text of a tfds split as one Python string.

    Args:
        name: The tfds name, e.g. ``"tiny_shakespeare"`` (each of whose
            splits is a single example holding the whole text).
        split: A tfds split such as ``"train"``.
        text_key: The text feature.
        data_dir: Where tfds keeps prepared data; ``None`` uses the tfds
            default.

    Returns:
        The UTF-8 decoded text of the split; several examples are joined
        with ``"\\n"``.

    Raises:
        ValueError: If tfds does not know ``name`` or ``text_key`` is not a
            feature.
        FileNotFoundError: If the data is not prepared and cannot be
            downloaded.

    Example:
        >>> text = tfds_text("tiny_shakespeare", "train")  # doctest: +SKIP
        >>> text[:14]  # doctest: +SKIP
        'First Citizen:'
    """
    texts = tfds_texts(name, split, text_key, data_dir)
    return "\n".join(t.decode("utf-8") for t in texts.as_numpy_iterator())


def tfds_texts(name, split, text_key="text", data_dir=None):
    """The text feature of every example of a tfds split, as a dataset.

    Args:
        name: The tfds name, e.g. ``"imdb_reviews"``.
        split: A tfds split such as ``"train"``.
        text_key: The text feature.
        data_dir: Where tfds keeps prepared data.

    Returns:
        A ``tf.data.Dataset`` of ``tf.string`` scalars.

    Raises:
        ValueError: If tfds does not know ``name`` or ``text_key`` is not a
            feature.
        FileNotFoundError: If the data is not prepared and cannot be
            downloaded.

    Example:
        >>> texts = tfds_texts("imdb_reviews", "unsupervised")  # doctest: +SKIP
    """
    builder = dataset_builder(name, data_dir)
    check_feature(name, builder, "text_key", text_key)
    dataset = load_split(builder, name, split)
    return dataset.map(lambda example: example[text_key])

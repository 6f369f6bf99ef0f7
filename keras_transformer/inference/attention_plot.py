"""Cross-attention heatmaps: which source pieces each output piece read."""


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ValueError(
            "Attention plots need matplotlib: pip install matplotlib (or the "
            "'notebooks' extra of keras-transformer-ref)."
        ) from err
    return plt


def attention_figure(source_pieces, target_pieces, weights, title=None):
    """A labelled heatmap of a (T, S) attention matrix.

    Args:
        source_pieces: the S source pieces (x axis).
        target_pieces: the T output pieces (y axis; row t is the attention
            of the step that produced piece t).
        weights: (T, S) weights, rows summing to 1.
        title: the title (default: what ``Translator.cross_attention``
            returns).

    Returns:
        A matplotlib ``Figure``.

    Example:

    >>> figure = attention_figure(*translator.cross_attention("A dog."))
    """
    plt = _pyplot()
    rows, cols = len(target_pieces), len(source_pieces)
    figure, axes = plt.subplots(
        figsize=(max(4.0, 0.45 * cols + 2), max(3.0, 0.4 * rows + 1.5))
    )
    image = axes.imshow(weights, cmap="viridis", vmin=0.0, aspect="auto")
    axes.set_xticks(range(cols), source_pieces, rotation=90)
    axes.set_yticks(range(rows), target_pieces)
    axes.set_xlabel("source pieces")
    axes.set_ylabel("output pieces")
    axes.set_title(
        title or "Cross-attention (last decoder layer, mean over heads)"
    )
    figure.colorbar(image, ax=axes)
    figure.tight_layout()
    return figure


def save_attention_heatmap(source_pieces, target_pieces, weights, path):
    """Saves ``attention_figure(...)`` to ``path`` (.png, .pdf, .svg).

    Example:

    >>> save_attention_heatmap(*translator.cross_attention("A dog."),
    ...                        path="attention.png")
    """
    import matplotlib

    matplotlib.use("Agg")
    figure = attention_figure(source_pieces, target_pieces, weights)
    figure.savefig(path, dpi=120)
    _pyplot().close(figure)

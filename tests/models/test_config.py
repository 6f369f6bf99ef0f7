import pytest

from keras_transformer.models import TransformerConfig


def test_presets_match_the_paper_table_3():
    base = TransformerConfig.base(vocab_size=37000)
    assert (base.num_layers, base.d_model, base.ff_dim, base.num_heads) == (
        6,
        512,
        2048,
        8,
    )
    assert base.dropout == 0.1
    big = TransformerConfig.big(vocab_size=37000)
    assert (big.num_layers, big.d_model, big.ff_dim, big.num_heads) == (
        6,
        1024,
        4096,
        16,
    )
    assert big.dropout == 0.3
    small = TransformerConfig.small()
    assert small.d_model < base.d_model


def test_overrides_and_round_trip():
    config = TransformerConfig.preset("base", vocab_size=100, norm_first=True)
    assert config.norm_first and config.vocab_size == 100
    assert TransformerConfig.from_dict(config.to_dict()) == config
    assert config.decoder_layers == 6
    assert config.replace(num_decoder_layers=2).decoder_layers == 2
    assert config.shared_vocabulary
    assert not config.replace(target_vocab_size=50).shared_vocabulary


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"d_model": 0}, "d_model"),
        ({"num_heads": 3}, "divisible"),
        ({"dropout": 1.2}, "dropout"),
        ({"position": "rotary"}, "position"),
        ({"vocab_size": "big"}, "vocab_size"),
        ({"num_layers": True}, "num_layers"),
        ({"norm_first": "yes"}, "norm_first must be true or false"),
        ({"tie_embeddings": 1}, "tie_embeddings must be true or false"),
        ({"copy_source": "false"}, "copy_source must be true or false"),
        ({"activation": "mish"}, "activation must be one of"),
        ({"num_segments": -1}, "num_segments must be positive"),
        ({"embedding_norm": "no"}, "embedding_norm must be true or false"),
        ({"scale_embeddings": 0}, "scale_embeddings must be true or false"),
    ],
)
def test_invalid_values(changes, message):
    with pytest.raises(ValueError, match=message):
        TransformerConfig.small(**changes)


def test_unknown_fields_and_presets():
    with pytest.raises(ValueError, match="d_modle"):
        TransformerConfig.from_dict({"d_modle": 3})
    with pytest.raises(ValueError, match="huge"):
        TransformerConfig.preset("huge")


def test_published_checkpoint_switches_default_to_the_paper():
    config = TransformerConfig.small()
    assert config.scale_embeddings and not config.embedding_norm
    assert config.num_segments == 0 and not config.output_bias
    assert config.activation == "relu"
    # A stored config of an earlier version (no switches) still loads.
    old = {k: v for k, v in config.to_dict().items() if k != "num_segments"}
    assert TransformerConfig.from_dict(old) == config

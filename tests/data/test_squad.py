"""The SQuAD reader: files, errors, splitting by article (the tfds path:
tests/tasks/question_answering/test_task.py)."""

import gzip
import json

import pytest

from keras_transformer.data import squad
from keras_transformer.errors import DataError


def squad_file(path, articles):
    """Writes SQuAD JSON: articles = [[(context, [(question, answer)])]];
    answer_start is found in the context."""
    data = []
    for a, paragraphs in enumerate(articles):
        items = []
        for context, questions in paragraphs:
            qas = [
                {
                    "id": f"{a}-{len(items)}-{q}",
                    "question": question,
                    "answers": [
                        {"text": answer, "answer_start": context.index(answer)}
                    ],
                }
                for q, (question, answer) in enumerate(questions)
            ]
            items.append({"context": context, "qas": qas})
        data.append({"title": f"t{a}", "paragraphs": items})
    text = json.dumps({"version": "1.1", "data": data})
    if str(path).endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


ARTICLES = [
    [("Zoë lives in Kraków. Bo is a chef.", [("Where is Zoë?", "Kraków")])],
    [("Ann works in Rome.", [("Where?", "Rome"), ("Who?", "Ann")])],
    [("Ægir sails.", [("Who sails?", "Ægir")])],
]


@pytest.mark.parametrize("name", ["squad.json", "squad.json.gz"])
def test_reads_articles_of_examples(tmp_path, name):
    articles = squad.read_squad(squad_file(tmp_path / name, ARTICLES))
    assert [len(article) for article in articles] == [1, 2, 1]
    example = articles[0][0]
    assert example.title == "t0"
    assert example.question == "Where is Zoë?"
    assert example.answers == [("Kraków", 13)]
    assert example.context[13 : 13 + len("Kraków")] == "Kraków"


def _edit(tmp_path, change):
    path = squad_file(tmp_path / "s.json", ARTICLES)
    data = json.loads(open(path).read())
    change(data)
    (tmp_path / "s.json").write_text(json.dumps(data))
    return path


def test_an_answer_start_that_misses_its_text_is_named(tmp_path):
    def shift(data):
        data["data"][0]["paragraphs"][0]["qas"][0]["answers"][0][
            "answer_start"
        ] = 12

    path = _edit(tmp_path, shift)
    with pytest.raises(DataError) as error:
        squad.read_squad(path)
    message = str(error.value)
    assert "\n" not in message
    assert "article 1, paragraph 1, question '0-0-0'" in message
    assert "'Kraków' is not at answer_start 12" in message
    assert "(the text is at 13)" in message


def test_an_empty_context_and_bad_json_are_named(tmp_path):
    def empty(data):
        data["data"][1]["paragraphs"][0]["context"] = "  "

    with pytest.raises(DataError, match="article 2, paragraph 1: the context"):
        squad.read_squad(_edit(tmp_path, empty))
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [\n  {"title": }]}')
    with pytest.raises(DataError, match=r"bad.json:2:13: not valid JSON"):
        squad.read_squad(str(bad))
    with pytest.raises(DataError, match="'paragraphs' field"):
        squad.read_squad(
            _edit(tmp_path, lambda d: d["data"][0].pop("paragraphs"))
        )
    with pytest.raises(FileNotFoundError):
        squad.read_squad(str(tmp_path / "missing.json"))


def test_articles_are_split_whole_and_reproducibly():
    articles = [
        [
            squad.SquadExample(f"{a}-{q}", f"t{a}", "q", "c", [("c", 0)])
            for q in range(a % 3 + 1)
        ]
        for a in range(20)
    ]
    parts = squad.split_articles(articles, 0.1, 0.2, seed=3)
    titles = {s: {e.title for e in parts[s]} for s in parts}
    assert len(titles["test"]) == 4 and len(titles["validation"]) == 2
    assert len(titles["train"]) == 14
    assert not (titles["test"] & titles["train"])
    assert not (titles["validation"] & titles["train"])
    assert sum(len(p) for p in parts.values()) == sum(map(len, articles))
    again = squad.split_articles(articles, 0.1, 0.2, seed=3)
    assert [e.id for e in again["test"]] == [e.id for e in parts["test"]]
    other = squad.split_articles(articles, 0.1, 0.2, seed=4)
    assert {e.title for e in other["test"]} != titles["test"]


def test_examples_dataset_keeps_every_gold_answer(tmp_path):
    articles = squad.read_squad(squad_file(tmp_path / "s.json", ARTICLES))
    examples = [e for article in articles for e in article]
    examples[0].answers.append(("Kraków.", 13))
    rows = list(squad.examples_dataset(examples).as_numpy_iterator())
    assert rows[0]["answers"].tolist() == [b"Krak\xc3\xb3w", b"Krak\xc3\xb3w."]
    assert rows[0]["answer_starts"].tolist() == [13, 13]
    assert rows[1]["question"] == b"Where?"

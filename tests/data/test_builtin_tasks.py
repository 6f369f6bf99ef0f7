"""Tests for the generated tasks in keras_transformer.data.builtin_tasks.

Expected values are computed here independently of the module: dates are
parsed back with regular expressions, spelled-out numbers with a small
word parser, and weekdays with ``datetime``.
"""

import datetime
import re

import pytest

from keras_transformer.data import builtin_tasks
from keras_transformer.data.builtin_tasks import (
    TASKS,
    builtin_splits,
    generate_pairs,
)

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
WEEKDAYS = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
]
MONTH_RE = "|".join(MONTHS)
MON_RE = "|".join(m[:3] for m in MONTHS)
WEEKDAY_RE = "|".join(WEEKDAYS)
WD_RE = "|".join(w[:3] for w in WEEKDAYS)


def _month_number(name):
    for number, month in enumerate(MONTHS, start=1):
        if month.lower().startswith(name.lower()[:3]):
            return number
    raise AssertionError(f"not a month: {name}")


# Independent parsers for some of the formats: regex -> (year, month, day).
DATE_PARSERS = {
    "March 5, 2021": (
        rf"^({MONTH_RE}) (\d{{1,2}}), (\d{{4}})$",
        lambda m: (int(m[3]), _month_number(m[1]), int(m[2])),
    ),
    "3/5/2021": (
        r"^(\d{1,2})/(\d{1,2})/(\d{4})$",
        lambda m: (int(m[3]), int(m[1]), int(m[2])),
    ),
    "05.03.2021": (
        r"^(\d{2})\.(\d{2})\.(\d{4})$",
        lambda m: (int(m[3]), int(m[2]), int(m[1])),
    ),
    "Friday, March 5, 2021": (
        rf"^({WEEKDAY_RE}), ({MONTH_RE}) (\d{{1,2}}), (\d{{4}})$",
        lambda m: (int(m[4]), _month_number(m[2]), int(m[3])),
    ),
    "5th of March, 2021": (
        rf"^(\d{{1,2}})(?:st|nd|rd|th) of ({MONTH_RE}), (\d{{4}})$",
        lambda m: (int(m[3]), _month_number(m[2]), int(m[1])),
    ),
    "Fri 5 Mar 2021": (
        rf"^({WD_RE}) (\d{{1,2}}) ({MON_RE}) (\d{{4}})$",
        lambda m: (int(m[4]), _month_number(m[3]), int(m[2])),
    ),
}


def _date_shape(source):
    """The source with names and numbers replaced, to tell formats apart."""
    shape = re.sub(rf"\b({WEEKDAY_RE}|{WD_RE})\b", "W", source)
    shape = re.sub(rf"(?i)\b({MONTH_RE}|{MON_RE})\b", "M", shape)
    shape = re.sub(r"\d+(st|nd|rd|th)", "9o", shape)
    return re.sub(r"\d+", "9", shape)


@pytest.fixture(scope="module")
def date_pairs():
    return generate_pairs("dates", 3000, seed=7)


@pytest.mark.parametrize("task", TASKS)
def test_generate_pairs_is_deterministic(task):
    first = generate_pairs(task, 200, seed=3)
    assert first == generate_pairs(task, 200, seed=3)
    assert first != generate_pairs(task, 200, seed=4)
    assert len(first) == 200
    assert all(
        isinstance(s, str) and isinstance(t, str) and s and t for s, t in first
    )


def test_unknown_task_lists_the_choices():
    for call in (
        lambda: generate_pairs("sorting", 3),
        lambda: builtin_splits("sorting", 3, 1, 1),
    ):
        with pytest.raises(ValueError) as info:
            call()
        message = str(info.value)
        assert "sorting" in message
        for task in ("dates", "numbers", "copy", "reverse"):
            assert task in message


@pytest.mark.parametrize("bad", [-1, 2.5, "10"])
def test_bad_counts_raise(bad):
    with pytest.raises(ValueError, match="num_examples"):
        generate_pairs("copy", bad)
    with pytest.raises(ValueError, match="test_size"):
        builtin_splits("copy", 10, 1, bad)


def test_dates_targets_are_iso_dates_in_range(date_pairs):
    years = set()
    for _, target in date_pairs:
        day = datetime.date.fromisoformat(target)
        assert day.isoformat() == target
        assert 1950 <= day.year <= 2049
        years.add(day.year)
    assert min(years) < 1960 and max(years) > 2040


def test_dates_sources_describe_the_target_date(date_pairs):
    matched = {name: 0 for name in DATE_PARSERS}
    for source, target in date_pairs:
        for name, (pattern, to_ymd) in DATE_PARSERS.items():
            match = re.match(pattern, source)
            if match:
                expected = datetime.date(*to_ymd(match))
                assert expected == datetime.date.fromisoformat(target), source
                matched[name] += 1
    # Every parsed format really occurs.
    assert all(count > 0 for count in matched.values()), matched


def test_dates_weekdays_are_correct(date_pairs):
    checked = 0
    for source, target in date_pairs:
        first_word = source.split()[0].rstrip(",")
        for index, name in enumerate(WEEKDAYS):
            if first_word in (name, name[:3]):
                day = datetime.date.fromisoformat(target)
                assert day.weekday() == index, (source, target)
                checked += 1
    assert checked > 100


def test_dates_use_many_formats_and_names(date_pairs):
    shapes = {_date_shape(source) for source, _ in date_pairs}
    assert len(shapes) >= 8, shapes
    text = " ".join(source for source, _ in date_pairs)
    for month in MONTHS:
        assert month in text
    for weekday in WEEKDAYS:
        assert weekday in text


def test_dates_mapping_is_a_function(date_pairs):
    seen = {}
    for source, target in generate_pairs("dates", 20000, seed=11):
        assert seen.setdefault(source, target) == target


UNITS = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven "
        "twelve thirteen fourteen fifteen sixteen seventeen eighteen "
        "nineteen".split()
    )
}
TENS = {
    word: 10 * value
    for value, word in enumerate(
        "twenty thirty forty fifty sixty seventy eighty ninety".split(),
        start=2,
    )
}


def words_to_number(text):
    """A small independent parser for English number words."""
    total, current = 0, 0
    for token in text.replace("-", " ").split():
        if token == "and":
            continue
        if token in UNITS:
            current += UNITS[token]
        elif token in TENS:
            current += TENS[token]
        elif token == "hundred":
            current *= 100
        elif token == "thousand":
            total += current * 1000
            current = 0
        else:
            raise AssertionError(f"unexpected word {token!r} in {text!r}")
    return total + current


def test_words_to_number_helper():
    assert words_to_number(
        "three hundred and forty-two thousand and seven"
    ) == (342007)
    assert words_to_number("nineteen") == 19


def test_numbers_round_trip():
    pairs = generate_pairs("numbers", 3000, seed=5)
    lengths = set()
    for source, target in pairs:
        assert target.isdigit() and target == str(int(target))
        assert 0 <= int(target) <= 999_999
        assert words_to_number(source) == int(target), source
        lengths.add(len(target))
    # Short and long numbers both occur.
    assert lengths == {1, 2, 3, 4, 5, 6}


def test_numbers_spelling_convention():
    tens = "|".join(TENS)
    units = "|".join(w for w, v in UNITS.items() if 1 <= v <= 9)
    for source, target in generate_pairs("numbers", 3000, seed=6):
        n = int(target)
        # Tens and units are always joined by a hyphen.
        assert not re.search(rf"\b({tens}) ({units})\b", source), source
        if n % 100 > 20 and n % 10:
            assert re.search(rf"\b({tens})-({units})$", source), source
        head, _, tail = source.rpartition("thousand")
        if n < 1000:
            assert head == "" and "thousand" not in source
            groups = [(n, source)]
        else:
            groups = [(n // 1000, head), (n % 1000, tail)]
            # "and" after "thousand" exactly when only tens/units follow.
            assert tail.startswith(" and ") == (0 < n % 1000 < 100), source
        for value, words in groups:
            if value >= 100:
                # "and" after "hundred" exactly when tens/units follow.
                assert ("hundred and" in words) == (value % 100 != 0), source


def test_copy_and_reverse_semantics():
    vocabulary = set()
    for source, target in generate_pairs("copy", 1000, seed=2):
        assert target == source
        words = source.split()
        assert 3 <= len(words) <= 12
        vocabulary.update(words)
    lengths = set()
    for source, target in generate_pairs("reverse", 1000, seed=2):
        words = source.split()
        assert target.split() == words[::-1]
        assert " ".join(words) == source
        lengths.add(len(words))
        vocabulary.update(words)
    assert lengths == set(range(3, 13))
    assert 30 <= len(vocabulary) <= 50
    assert all(w.isalpha() and w.islower() for w in vocabulary)


@pytest.mark.parametrize("task", TASKS)
def test_builtin_splits_sizes_and_disjointness(task):
    splits = builtin_splits(task, 2000, 300, 400, seed=1)
    assert sorted(splits) == ["test", "train", "validation"]
    assert [len(splits[k]) for k in ("train", "validation", "test")] == [
        2000,
        300,
        400,
    ]
    sources = [s for part in splits.values() for s, _ in part]
    assert len(set(sources)) == len(sources)
    train = {s for s, _ in splits["train"]}
    assert not train & {s for s, _ in splits["validation"]}
    assert not train & {s for s, _ in splits["test"]}
    # The pairs still follow the task's rule.
    for part in splits.values():
        for source, target in part:
            assert follows_rule(task, source, target), (source, target)


def follows_rule(task, source, target):
    if task == "copy":
        return target == source
    if task == "reverse":
        return target.split() == source.split()[::-1]
    if task == "numbers":
        return words_to_number(source) == int(target)
    day = datetime.date.fromisoformat(target)
    return str(day.year) in source and day.isoformat() == target


@pytest.mark.parametrize("task", TASKS)
def test_builtin_splits_are_deterministic(task):
    first = builtin_splits(task, 500, 50, 50, seed=4)
    assert first == builtin_splits(task, 500, 50, 50, seed=4)
    assert first != builtin_splits(task, 500, 50, 50, seed=5)


def test_builtin_splits_test_set_does_not_depend_on_train_size():
    small = builtin_splits("numbers", 100, 50, 50, seed=2)
    large = builtin_splits("numbers", 3000, 50, 50, seed=2)
    assert small["test"] == large["test"]
    assert small["validation"] == large["validation"]


def test_builtin_splits_too_many_examples_raise():
    with pytest.raises(ValueError, match="at most 1,000,000"):
        builtin_splits("numbers", 999_999, 1, 1)
    num_days = (datetime.date(2049, 12, 31) - datetime.date(1950, 1, 1)).days
    capacity = (num_days + 1) * 12  # twelve documented formats
    with pytest.raises(ValueError, match="distinct"):
        builtin_splits("dates", capacity - 1, 1, 1)


def test_builtin_splits_near_capacity_enumerates():
    num_days = (datetime.date(2049, 12, 31) - datetime.date(1950, 1, 1)).days
    capacity = (num_days + 1) * 12
    splits = builtin_splits("dates", capacity - 200, 100, 100, seed=0)
    sources = [s for part in splits.values() for s, _ in part]
    assert len(sources) == capacity
    assert len(set(sources)) == capacity
    for source, target in splits["test"]:
        day = datetime.date.fromisoformat(target)
        assert str(day.year) in source


def test_capacity_is_never_overstated(monkeypatch):
    # If enumerating a task gives fewer distinct sources than its claimed
    # capacity, the result is a ValueError, never short splits.
    monkeypatch.setattr(builtin_tasks, "_capacity", lambda task: 8)
    monkeypatch.setattr(
        builtin_tasks,
        "_all_pairs",
        lambda task: [("one", "1"), ("two", "2"), ("one", "1")],
    )
    with pytest.raises(ValueError, match="distinct sources"):
        builtin_splits("numbers", 3, 0, 0)

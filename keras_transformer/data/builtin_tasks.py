"""Generated translation-like tasks that need no download.

Each task maps a *source* string to a *target* string with a fixed rule, so
a sequence-to-sequence model can be trained and checked in minutes, offline:

* ``"dates"``: a date written in one of twelve human formats
  (``"Friday, March 5, 2021"``, ``"5th of March, 2021"``, ``"3/5/2021"``,
  ...) maps to its ISO form ``"2021-03-05"``. Years run from 1950 to 2049.
  The model has to reorder (the year moves to the front) and learn a real
  vocabulary (month and weekday names). Weekday names are always correct for
  the date. Each format has its own separators, so one source string never
  describes two dates: slashes are always US month/day/year
  (``"3/5/2021"``) and dots are always day.month.year (``"05.03.2021"``).
  Month and weekday names are English, whatever the locale.
* ``"numbers"``: an integer from 0 to 999,999 spelled out in English words
  maps to its digits. The spelling is the British one: tens and units are
  joined by a hyphen (``"forty-two"``), and ``"and"`` comes after
  ``"hundred"`` and after ``"thousand"`` when only tens or units follow.
  For example 342,007 is ``"three hundred and forty-two thousand and
  seven"``, 1,100 is ``"one thousand one hundred"`` and 0 is ``"zero"``.
  The number of digits (1 to 6) is drawn uniformly first, so short numbers
  are as common as long ones.
* ``"copy"``: 3 to 12 words drawn from a fixed list of 40 short English
  words map to the same words.
* ``"reverse"``: the same sources map to the words in reverse order.

Everything is deterministic given the seed.
"""

import datetime
import random

TASKS = ("dates", "numbers", "copy", "reverse")

_MONTHS = (
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
)
_WEEKDAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
_FIRST_DATE = datetime.date(1950, 1, 1)
_LAST_DATE = datetime.date(2049, 12, 31)
_NUM_DAYS = (_LAST_DATE - _FIRST_DATE).days + 1

_WORDS = (
    "the",
    "cat",
    "dog",
    "red",
    "big",
    "sun",
    "run",
    "sky",
    "tree",
    "blue",
    "fish",
    "bird",
    "cold",
    "hot",
    "milk",
    "book",
    "door",
    "road",
    "rain",
    "snow",
    "star",
    "moon",
    "hand",
    "foot",
    "king",
    "ship",
    "bell",
    "cake",
    "lamp",
    "rock",
    "wind",
    "fire",
    "gold",
    "leaf",
    "salt",
    "corn",
    "wolf",
    "frog",
    "rose",
    "egg",
)
_MIN_WORDS = 3
_MAX_WORDS = 12

_ONES = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
)
_TENS = (
    "",
    "",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "sixty",
    "seventy",
    "eighty",
    "ninety",
)
_MAX_NUMBER = 999_999


def _ordinal(day):
    if day in (11, 12, 13):
        return f"{day}th"
    return f"{day}" + {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _month(d):
    return _MONTHS[d.month - 1]


def _mon(d):
    return _MONTHS[d.month - 1][:3]


def _weekday(d):
    return _WEEKDAYS[d.weekday()]


# Every format gives a different string for the same date, and no string
# can come from two different dates (see the module docstring).
_DATE_FORMATS = (
    # March 5, 2021
    lambda d: f"{_month(d)} {d.day}, {d.year}",
    # 5 March 2021
    lambda d: f"{d.day} {_month(d)} {d.year}",
    # 05-Mar-2021
    lambda d: f"{d.day:02d}-{_mon(d)}-{d.year}",
    # Friday, March 5, 2021
    lambda d: f"{_weekday(d)}, {_month(d)} {d.day}, {d.year}",
    # 5th of March, 2021
    lambda d: f"{_ordinal(d.day)} of {_month(d)}, {d.year}",
    # march 5 2021
    lambda d: f"{_month(d).lower()} {d.day} {d.year}",
    # 2021 March 05
    lambda d: f"{d.year} {_month(d)} {d.day:02d}",
    # Fri 5 Mar 2021
    lambda d: f"{_weekday(d)[:3]} {d.day} {_mon(d)} {d.year}",
    # 3/5/2021 (always US month/day/year)
    lambda d: f"{d.month}/{d.day}/{d.year}",
    # 05.03.2021 (always day.month.year)
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",
    # MAR 05 2021
    lambda d: f"{_mon(d).upper()} {d.day:02d} {d.year}",
    # the 5th of March 2021
    lambda d: f"the {_ordinal(d.day)} of {_month(d)} {d.year}",
)


def _below_thousand(n):
    hundreds, rest = divmod(n, 100)
    parts = []
    if hundreds:
        parts.append(f"{_ONES[hundreds]} hundred")
        if rest:
            parts.append("and")
    if rest:
        if rest < 20:
            parts.append(_ONES[rest])
        elif rest % 10:
            parts.append(f"{_TENS[rest // 10]}-{_ONES[rest % 10]}")
        else:
            parts.append(_TENS[rest // 10])
    return " ".join(parts)


def _number_to_words(n):
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    parts = []
    if thousands:
        parts.append(f"{_below_thousand(thousands)} thousand")
        if 0 < rest < 100:
            parts.append("and")
    if rest:
        parts.append(_below_thousand(rest))
    return " ".join(parts)


def _date_pair(day_index, format_index):
    d = _FIRST_DATE + datetime.timedelta(days=day_index)
    return _DATE_FORMATS[format_index](d), d.isoformat()


def _sample_date(rng):
    day_index = rng.randrange(_NUM_DAYS)
    return _date_pair(day_index, rng.randrange(len(_DATE_FORMATS)))


def _sample_number(rng):
    digits = rng.randint(1, 6)
    low = 0 if digits == 1 else 10 ** (digits - 1)
    n = rng.randint(low, 10**digits - 1)
    return _number_to_words(n), str(n)


def _sample_words(rng):
    length = rng.randint(_MIN_WORDS, _MAX_WORDS)
    return [rng.choice(_WORDS) for _ in range(length)]


def _sample_copy(rng):
    text = " ".join(_sample_words(rng))
    return text, text


def _sample_reverse(rng):
    words = _sample_words(rng)
    return " ".join(words), " ".join(reversed(words))


_SAMPLERS = {
    "dates": _sample_date,
    "numbers": _sample_number,
    "copy": _sample_copy,
    "reverse": _sample_reverse,
}


# Every pair of the enumerable tasks.
_ENUMERATIONS = {
    "dates": lambda: [
        _date_pair(day, fmt)
        for day in range(_NUM_DAYS)
        for fmt in range(len(_DATE_FORMATS))
    ],
    "numbers": lambda: [
        (_number_to_words(n), str(n)) for n in range(_MAX_NUMBER + 1)
    ],
}
_WORD_SEQUENCES = sum(
    len(_WORDS) ** length for length in range(_MIN_WORDS, _MAX_WORDS + 1)
)
# The number of distinct source strings each task can produce.
_CAPACITIES = {
    "dates": _NUM_DAYS * len(_DATE_FORMATS),
    "numbers": _MAX_NUMBER + 1,
    "copy": _WORD_SEQUENCES,
    "reverse": _WORD_SEQUENCES,
}


def _all_pairs(task):
    """Every pair of an enumerable task (``dates`` and ``numbers``)."""
    return _ENUMERATIONS[task]()


def _capacity(task):
    """The number of distinct source strings a task can produce."""
    return _CAPACITIES[task]


def _check_task(task):
    if task not in TASKS:
        raise ValueError(
            f"Unknown built-in task {task!r}. Choose one of: "
            f"{', '.join(repr(t) for t in TASKS)}."
        )


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{name} must be a non-negative integer, got {value!r}. "
            f"Pass a whole number such as 1000."
        )


def generate_pairs(task, num_examples, seed=0):
    """Generates ``(source, target)`` pairs for a built-in task.

    The pairs are drawn independently, so a source can repeat. Use
    :func:`builtin_splits` to get train/validation/test splits that share no
    source string.

    Args:
        task: One of :data:`TASKS`: ``"dates"``, ``"numbers"``, ``"copy"``
            or ``"reverse"`` (see the module docstring).
        num_examples: How many pairs to generate (a non-negative integer).
        seed: The random seed; the same seed gives the same pairs.

    Returns:
        A list of ``num_examples`` ``(source, target)`` string tuples.

    Raises:
        ValueError: If ``task`` is unknown or ``num_examples`` is negative.

    Example:
        >>> generate_pairs("numbers", 2, seed=3)  # doctest: +SKIP
        [('forty-two', '42'), ('one thousand and seven', '1007')]
        >>> source, target = generate_pairs("dates", 1)[0]
        >>> len(target)
        10
    """
    _check_task(task)
    _check_count("num_examples", num_examples)
    rng = random.Random(seed)
    sample = _SAMPLERS[task]
    return [sample(rng) for _ in range(num_examples)]


def _distinct_pairs(task, count, rng):
    """``count`` pairs with distinct sources, in a seeded random order."""
    capacity = _capacity(task)
    pairs = []
    seen = set()
    if count <= capacity // 4:
        sample = _SAMPLERS[task]
        budget = 20 * count + 1000
        for _ in range(budget):
            if len(pairs) == count:
                return pairs
            source, target = sample(rng)
            if source not in seen:
                seen.add(source)
                pairs.append((source, target))
        if len(pairs) == count:
            return pairs
    # Close to the task's capacity random draws mostly repeat, so enumerate
    # the remaining sources and draw from them without replacement.
    rest = [pair for pair in _all_pairs(task) if pair[0] not in seen]
    rest = list(dict(rest).items())  # drop any duplicate source strings
    rng.shuffle(rest)
    pairs.extend(rest[: count - len(pairs)])
    if len(pairs) < count:
        raise ValueError(
            f"Task {task!r} can only produce {len(pairs)} distinct sources, "
            f"but {count} were requested. Ask for fewer examples."
        )
    return pairs


def builtin_splits(task, train_size, validation_size, test_size, seed=0):
    """Builds disjoint train/validation/test splits of a built-in task.

    Sources are unique across all three splits, so no validation or test
    source is ever seen in training. The test split is drawn first, then
    validation, then train: for the same seed and ``test_size`` the test set
    stays the same when only ``train_size`` changes (as long as the total is
    at most a quarter of what the task can produce; beyond that the remaining
    sources are enumerated and shuffled instead).

    Args:
        task: One of :data:`TASKS`.
        train_size: Number of training pairs.
        validation_size: Number of validation pairs.
        test_size: Number of test pairs.
        seed: The random seed; the same arguments give the same splits.

    Returns:
        A dict with keys ``"train"``, ``"validation"`` and ``"test"``, each a
        list of ``(source, target)`` tuples of the requested size.

    Raises:
        ValueError: If ``task`` is unknown, a size is negative, or the task
            cannot produce ``train_size + validation_size + test_size``
            distinct sources (``"dates"``: 438,300; ``"numbers"``:
            1,000,000).

    Example:
        >>> splits = builtin_splits("reverse", 1000, 100, 100, seed=1)
        >>> sorted(splits)
        ['test', 'train', 'validation']
        >>> train_sources = {s for s, _ in splits["train"]}
        >>> any(s in train_sources for s, _ in splits["test"])
        False
    """
    _check_task(task)
    _check_count("train_size", train_size)
    _check_count("validation_size", validation_size)
    _check_count("test_size", test_size)
    total = train_size + validation_size + test_size
    capacity = _capacity(task)
    if total > capacity:
        raise ValueError(
            f"Task {task!r} can produce at most {capacity:,} distinct "
            f"sources, but train_size + validation_size + test_size = "
            f"{total:,}. Ask for fewer examples."
        )
    pairs = _distinct_pairs(task, total, random.Random(seed))
    return {
        "train": pairs[test_size + validation_size :],
        "validation": pairs[test_size : test_size + validation_size],
        "test": pairs[:test_size],
    }

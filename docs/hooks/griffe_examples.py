"""A Griffe extension for the package's doctests.

The docstrings title their doctests ``Example:``, which Google style reads
as an admonition, and some leave the doctest at the title's indentation.
This reads each as an ``Examples:`` section with its doctest indented
under the title, so that the ``>>>`` lines and their output render as
code."""

import re

import griffe

_TITLE = re.compile(r"^(\s*)Example:[ \t]*$")


def examples_sections(text):
    """``text`` with every ``Example:`` section made an indented
    ``Examples:`` section."""
    lines = text.splitlines()
    out, index = [], 0
    while index < len(lines):
        title = _TITLE.match(lines[index])
        if not title:
            out.append(lines[index])
            index += 1
            continue
        indent = title.group(1)
        out.append(f"{indent}Examples:")
        index += 1
        while index < len(lines) and not lines[index].strip():
            index += 1  # blank lines between the title and the doctest
        while index < len(lines) and lines[index].strip():
            line = lines[index]
            nested = len(line) - len(line.lstrip()) > len(indent)
            out.append(line if nested else f"{indent}    {line.lstrip()}")
            index += 1
    return "\n".join(out)


class ExampleSections(griffe.Extension):
    def on_object(self, *, obj, **kwargs):
        docstring = obj.docstring
        if docstring is not None and "Example:" in docstring.value:
            docstring.value = examples_sections(docstring.value)

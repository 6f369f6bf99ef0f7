"""MkDocs hooks: the generated settings reference, and the repository's
notebooks and benchmark plots that the pages link to."""

import os
import pathlib
import sys

from mkdocs.structure.files import File

ROOT = pathlib.Path(__file__).resolve().parents[2]
#: Files outside ``docs/`` that pages link to, copied into the site under
#: the same paths.
EXTRA_FILES = ("notebooks/*.ipynb", "bench/results/*.png")


def on_files(files, config):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from keras_transformer.settings_reference import settings_markdown

    files.append(
        File.generated(config, "settings.md", content=settings_markdown())
    )
    for pattern in EXTRA_FILES:
        for path in sorted(ROOT.glob(pattern)):
            files.append(
                File(
                    str(path.relative_to(ROOT)),
                    src_dir=str(ROOT),
                    dest_dir=config["site_dir"],
                    use_directory_urls=config["use_directory_urls"],
                )
            )
    return files

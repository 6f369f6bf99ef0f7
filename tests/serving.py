"""Serving exported SavedModels as TF Serving does: in a process that has
imported only ``tensorflow`` and ``tensorflow_text``, never this package.

One such process serves all the requests of a test process (it starts on
the first): each Python start with TensorFlow costs seconds, and the
SavedModels need nothing of what an earlier request loaded.
"""

import atexit
import json
import os
import select
import subprocess
import sys
import tempfile

# Reads one JSON request a line: {"path", "inputs", "name"}; answers one
# JSON line: the batch's outputs, each input's outputs alone, and the
# modules of this package loaded (none), or the error's traceback.
SERVER = """
import json, sys, traceback
import tensorflow as tf
import tensorflow_text  # noqa: F401  (registers the SentencePiece ops)

def text(value):
    if isinstance(value, list):
        return [text(item) for item in value]
    return value.decode() if isinstance(value, bytes) else value

def plain(outputs):
    return {k: text(v.numpy().tolist()) for k, v in outputs.items()}

def serve(path, inputs, name):
    serve = tf.saved_model.load(path).signatures["serving_default"]
    batch = serve(**{name: tf.constant(inputs)})
    single = [serve(**{name: tf.constant([text])}) for text in inputs]
    return {
        "batch": plain(batch),
        "single": [plain(s) for s in single],
        "foreign": sorted(m for m in sys.modules
                          if m.split(".")[0] == "keras_transformer"),
    }

for line in sys.stdin:
    try:
        reply = serve(**json.loads(line))
    except Exception:
        reply = {"error": traceback.format_exc()}
    print(json.dumps(reply), flush=True)
"""

TIMEOUT_SECONDS = 300

_server = None


def _start():
    log = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    process.log = log
    atexit.register(process.kill)
    return process


def _stderr(process):
    process.log.seek(0)
    return process.log.read()[-3000:]


def serve_saved_model(path, inputs, name="text"):
    """The SavedModel's ``serving_default`` outputs, from the serving
    process.

    Args:
        path: the SavedModel's directory.
        inputs: the texts of one batch.
        name: the signature's input.

    Returns:
        ``{"batch": outputs, "single": [outputs of each input alone],
        "foreign": [modules of this package loaded: none]}``, as lists.
    """
    global _server
    if _server is None or _server.poll() is not None:
        _server = _start()
    request = {"path": str(path), "inputs": inputs, "name": name}
    _server.stdin.write(json.dumps(request) + "\n")
    _server.stdin.flush()
    ready, _, _ = select.select([_server.stdout], [], [], TIMEOUT_SECONDS)
    line = _server.stdout.readline() if ready else ""
    if not line:
        _server.kill()
        raise AssertionError(f"the serving process failed: {_stderr(_server)}")
    reply = json.loads(line)
    assert "error" not in reply, reply.get("error")
    return reply

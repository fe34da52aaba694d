"""`python -m engine.media.probe_child FILE`: probe one file and print one JSON line.

Run by engine.media.probe.probe in a child process, so that a file which crashes or hangs
FFmpeg only ends this process. The answer is {"ok": true, "info": {...}} or
{"ok": false, "error": "message naming the file"}.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    from engine.errors import MediaError
    from engine.media.probe import probe_in_process

    path = argv[0]
    try:
        answer = {"ok": True, "info": probe_in_process(path).to_json()}
    except MediaError as error:
        answer = {"ok": False, "error": str(error)}
    except MemoryError:
        answer = {"ok": False, "error": f"{path}: the file is too large to read in memory; "
                                        "make a smaller copy and import that"}
    except Exception as error:  # noqa: BLE001 - any decoder failure is the file's fault, reported as such
        answer = {"ok": False, "error": f"{path}: the file could not be read ({type(error).__name__}: "
                                        f"{error}); re-encode or replace it"}
    sys.stdout.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

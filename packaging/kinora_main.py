"""The bundled application's entry point: the same `kinora` as the installed script."""

import multiprocessing
import sys

if __name__ == "__main__":
    # Child processes Kinora starts (isolated probes, workers) re-run this binary.
    multiprocessing.freeze_support()
    from editor.app import main

    sys.exit(main())

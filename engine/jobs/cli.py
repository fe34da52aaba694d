"""`kinora jobs submit|run|list|cancel|retry`: the persistent job queue from the command line."""

from __future__ import annotations

import argparse
import functools
import json
import signal
import sqlite3
import sys

from engine.errors import UserError
from engine.generate.cli import TOOL_COMMANDS


def register(subparsers) -> None:
    jobs = subparsers.add_parser("jobs", help="the job queue: submit, run, list, cancel, retry")
    commands = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")

    submit = commands.add_parser("submit", add_help=False,
                                 help="queue a job; `submit TOOL ...` takes the options of `kinora TOOL`")
    submit.add_argument("kind", choices=TOOL_COMMANDS)
    submit.add_argument("options", nargs=argparse.REMAINDER)
    submit.set_defaults(run=_library_errors(_run_submit))

    run = commands.add_parser("run", help="run queued jobs until the queue is empty")
    run.add_argument("--wait", action="store_true", help="keep waiting for new jobs instead of stopping")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument("--cluster", metavar="ADDRESS",
                     help="run generations on the Ray cluster at ADDRESS ('local': on this machine); "
                          "default: KINORA_CLUSTER, else the Cluster setting")
    run.set_defaults(run=_library_errors(_run_worker))

    listing = commands.add_parser("list", help="show the jobs")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--state", action="append", help="only jobs in this state (repeatable)")
    listing.set_defaults(run=_library_errors(_run_list))

    cancel = commands.add_parser("cancel", help="cancel a waiting job, or the running one at its next step")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(run=_library_errors(_run_cancel))

    retry = commands.add_parser("retry", help="queue a failed, cancelled or interrupted job again")
    retry.add_argument("id", type=int)
    retry.add_argument("--lower", action="store_true", help="with settings that need less memory")
    retry.set_defaults(run=_library_errors(_run_retry))
    local = commands.add_parser("local", help="run a job waiting for the cluster on this machine instead")
    local.add_argument("id", type=int)
    local.set_defaults(run=_library_errors(_run_local))
    jobs.set_defaults(run=lambda args: jobs.print_help() or 2)


def _library_errors(run):
    """A database failure in any jobs command (locked by another process, disk full) becomes one
    message saying what is wrong and what to do, never a traceback."""

    @functools.wraps(run)
    def checked(args) -> int:
        try:
            return run(args)
        except sqlite3.Error as error:
            from engine.library.db import database_error, library_path

            raise database_error(library_path(), error) from None

    return checked


def _queue():
    from engine.jobs.queue import JobQueue

    return JobQueue()


def _run_submit(args) -> int:
    """Parse `kinora TOOL ...` options into the same typed request the command runs, and queue it."""
    from engine.generate.cli import request_from_argv
    from engine.generate.executor import check_output
    from engine.jobs.request_job import job_params

    request = request_from_argv(args.kind, args.options)
    check_output(request)  # a missing folder is reported now, not when the job runs
    queue = _queue()
    try:
        job_id = queue.submit(request.tool, job_params(request))
    finally:
        queue.close()
    print(job_id)
    return 0


def _run_worker(args) -> int:
    from engine.jobs.worker import Worker

    def on_state(job) -> None:
        detail = job.error or job.message
        print(f"job {job.id} {job.kind}: {job.state}{': ' + detail if detail else ''}", file=sys.stderr)
        for path in job.outputs if job.state == "done" else ():
            print(path)

    def on_progress(job_id, progress) -> None:
        if not args.quiet and progress.total:
            print(f"job {job_id}: {progress.message or f'{progress.step}/{progress.total}'}", file=sys.stderr)

    worker = Worker(on_state=on_state, on_progress=on_progress, stop_when_empty=not args.wait, cluster=args.cluster)
    # A polite stop (service manager, logout) ends like Ctrl-C: the running job is marked
    # interrupted, not counted as a crash, and runs again next time.
    signal.signal(signal.SIGTERM, _interrupt)
    worker.run()
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _run_list(args) -> int:
    queue = _queue()
    try:
        jobs = queue.list(tuple(args.state) if args.state else None)
    finally:
        queue.close()
    if args.json:
        print(json.dumps([job.to_json() for job in jobs], indent=2))
        return 0
    if not jobs:
        print("the queue is empty")
    for job in jobs:
        detail = job.error or job.message
        progress = f"{job.step}/{job.total}" if job.total else "-"
        print(f"{job.id}\t{job.kind}\t{job.state}\t{progress}\t{_runs_on(job)}\t{_summary(job)}\t{detail}")
    return 0


def _runs_on(job) -> str:
    from engine.jobs.cluster_job import runs_on

    return runs_on(job)


def _summary(job) -> str:
    from engine.jobs.request_job import describe

    return describe(job.kind, job.params)


def _run_cancel(args) -> int:
    state = _queue().cancel(args.id)
    print(f"job {args.id}: " + ("cancelled" if state == "cancelled" else "cancel requested; it stops at its next step"))
    return 0


def _run_local(args) -> int:
    queue = _queue()
    try:
        queue.run_locally(args.id)
    finally:
        queue.close()
    print(f"job {args.id}: runs on this machine")
    return 0


def _run_retry(args) -> int:
    from engine.jobs.registry import lower_settings

    queue = _queue()
    try:
        job = queue.get(args.id)
        params = None
        if args.lower:
            params = lower_settings(job.kind, job.params)
            if params is None:
                raise UserError(f"job {args.id} has no setting left to lower; try a smaller size or fewer frames")
        queue.retry(args.id, params)
    finally:
        queue.close()
    print(f"job {args.id}: queued again" + (" with lower settings" if args.lower else ""))
    return 0

"""The consent policy for conditioning media that shows people.

Image-to-video, storyboards, remix, extend, loop and blend can put a real person into a video
they never made. Before such a job runs, its conditioning files are checked for faces; by the
user's policy (settings: off, warn, require; require by default) a person found means the user
must confirm they have the depicted person's consent (`--consent` on the command line, a
question in the editor). The answer and what was found go into the generation's recipe.
"""

from __future__ import annotations

import os

from engine.errors import UserError

POLICIES = ("off", "warn", "require")


def check_consent(paths: list[str], *, consent: bool, policy: str | None = None) -> dict:
    """What the recipe records: {"policy", "consent", "faces": {file: count}, "warning"?}.

    Raises UserError when the policy requires consent, faces were found and none was given."""
    from engine.safety.faces import faces_in_file
    from engine.user_settings import load_settings

    policy = policy or load_settings().face_consent
    record: dict = {"policy": policy, "consent": bool(consent), "faces": {}}
    if policy == "off" or not paths:
        return record
    # a missing file is reported by the tool that reads it, in its own words
    faces = {path: faces_in_file(path) for path in dict.fromkeys(paths) if os.path.isfile(path)}
    record["faces"] = {path: count for path, count in faces.items() if count}
    if not record["faces"] or consent:
        return record
    names = ", ".join(os.path.basename(path) for path in record["faces"])
    message = (f"{names} shows a person; generating from it can put them in a video they never made. "
               "Confirm you have their consent")
    if policy == "require":
        raise UserError(message + " with --consent (or in the editor's question), or use other media")
    record["warning"] = message + "; this generation records that it was not given"
    return record

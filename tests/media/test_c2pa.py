"""Signed C2PA manifests: exports carry Content Credentials when given a certificate and key."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from engine.errors import UserError
from engine.media import c2pa_sign
from engine.media.export import RenderSettings, export
from engine.media.provenance import read_provenance
from tests.media.test_provenance import REPO, mixed_project


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Kinora tests")])


def _certificate(subject, issuer, public_key, signing_key, *, ca: bool):
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))
    usage = dict(digital_signature=not ca, content_commitment=False, key_encipherment=False, data_encipherment=False,
                 key_agreement=False, key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)
    builder = builder.add_extension(x509.KeyUsage(**usage), critical=True)
    if not ca:  # C2PA's certificate profile: a signer names its issuer's key and what it signs for
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture(scope="module")
def credentials(tmp_path_factory):
    """A root CA, a signing certificate it issued (chain PEM: leaf then root) and the leaf's key."""
    folder = tmp_path_factory.mktemp("credentials")
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _certificate(_name("Kinora test root"), _name("Kinora test root"), root_key.public_key(), root_key, ca=True)
    leaf = _certificate(_name("Kinora test signer"), root.subject, leaf_key.public_key(), root_key, ca=False)
    cert, key = folder / "chain.pem", folder / "signer.key"
    cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(_pem_key(leaf_key))
    other = folder / "other.key"
    other.write_bytes(_pem_key(ec.generate_private_key(ec.SECP256R1())))
    return {"cert": str(cert), "key": str(key), "other_key": str(other)}


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_signed_exports_carry_kinora_ranges_and_ai_actions(tmp_path, credentials, suffix):
    project = mixed_project(tmp_path)
    out = tmp_path / f"signed{suffix}"
    export(project, out, RenderSettings(preset="ultrafast", audio=False,
                                         sign_cert=credentials["cert"], sign_key=credentials["key"]))
    unsigned = read_provenance(str(out))  # the container tag survives signing
    store = c2pa_sign.read(str(out))
    assert store is not None and store["validation_state"] in ("Valid", "Trusted")
    assert c2pa_sign.kinora_assertion(store)["ranges"] == unsigned["ranges"]
    active = store["manifests"][store["active_manifest"]]
    actions = next(a["data"]["actions"] for a in active["assertions"] if a["label"].startswith("c2pa.actions"))
    ai = [a for a in actions if a.get("digitalSourceType", "").endswith("/trainedAlgorithmicMedia")]
    assert len(ai) == 1 and "frames 20-40" in ai[0]["description"]
    assert actions[0]["action"] == "c2pa.created"
    assert actions[0]["digitalSourceType"].endswith("/compositeWithTrainedAlgorithmicMedia")
    assert active["claim_generator_info"][0]["name"] == "Kinora"


def test_unsigned_exports_have_no_c2pa_and_the_cli_shows_it_when_signed(tmp_path, credentials):
    project = mixed_project(tmp_path)
    plain = tmp_path / "plain.mp4"
    export(project, plain, RenderSettings(preset="ultrafast", audio=False))
    assert c2pa_sign.read(str(plain)) is None
    cli = [sys.executable, "-m", "engine.cli"]
    result = subprocess.run([*cli, "provenance", str(plain)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0 and "c2pa" not in json.loads(result.stdout)
    from engine.model.serialize import save_project

    project_file = tmp_path / "cut.kinora"
    save_project(project, str(project_file))
    signed = tmp_path / "signed.mp4"
    result = subprocess.run([*cli, "render", str(project_file), "-o", str(signed), "--preset", "ultrafast", "--quiet",
                             "--sign-cert", credentials["cert"], "--sign-key", credentials["key"]],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    result = subprocess.run([*cli, "provenance", str(signed)], capture_output=True, text=True, cwd=REPO, timeout=120)
    shown = json.loads(result.stdout)
    assert result.returncode == 0 and c2pa_sign.kinora_assertion(shown["c2pa"])["ranges"] == shown["ranges"]
    assert shown["c2pa"]["validation_state"] in ("Valid", "Trusted")


def test_formats_c2pa_cannot_hold_are_refused_clearly(tmp_path, credentials):
    out = tmp_path / "cut.webm"
    settings = RenderSettings(preset="ultrafast", audio=False, sign_cert=credentials["cert"],
                              sign_key=credentials["key"])
    with pytest.raises(UserError, match=r"cut\.webm.*\.webm file; export to \.mp4 or \.mov"):
        export(mixed_project(tmp_path), out, settings)
    assert not out.exists()  # refused before any encoding


def test_bad_credentials_are_refused_naming_the_file(tmp_path, credentials):
    project = mixed_project(tmp_path)
    out = tmp_path / "cut.mp4"
    wrong = RenderSettings(preset="ultrafast", audio=False, sign_cert=credentials["cert"],
                           sign_key=credentials["other_key"])
    with pytest.raises(UserError, match=r"other\.key: is not the private key of the certificate in .*chain\.pem"):
        export(project, out, wrong)
    missing = RenderSettings(preset="ultrafast", audio=False, sign_cert=str(tmp_path / "nope.pem"),
                             sign_key=credentials["key"])
    with pytest.raises(UserError, match=r"nope\.pem.*not found"):
        export(project, out, missing)
    swapped = RenderSettings(preset="ultrafast", audio=False, sign_cert=credentials["key"],
                             sign_key=credentials["cert"])
    with pytest.raises(UserError, match=r"signer\.key: is not a PEM certificate"):
        export(project, out, swapped)
    only_cert = RenderSettings(preset="ultrafast", audio=False, sign_cert=credentials["cert"])
    with pytest.raises(UserError, match="both"):
        export(project, out, only_cert)
    assert not out.exists()


def test_the_render_job_signs_too(tmp_path, credentials):
    from engine.jobs.render_job import render_params, run_render_job
    from engine.progress import CancelToken

    out = tmp_path / "job.mov"
    params = render_params(mixed_project(tmp_path), str(out), preset="ultrafast", audio=False,
                           sign_cert=credentials["cert"], sign_key=credentials["key"])
    assert run_render_job(json.loads(json.dumps(params)), lambda progress: None, CancelToken()) == [str(out)]
    store = c2pa_sign.read(str(out))
    assert c2pa_sign.kinora_assertion(store)["ranges"] == read_provenance(str(out))["ranges"]


def test_generated_videos_are_signed_when_signing_is_configured(tmp_path, credentials):
    from engine.cli import main
    from engine.user_settings import UserSettings, save_settings
    from tests.generate.tiny_models import save_tiny_ltx

    model = save_tiny_ltx(tmp_path / "tiny-ltx")
    options = ["a red fox", "--model", str(model), "--size", "32x32", "--frames", "9", "--steps", "1", "--quiet"]
    assert main(["generate", *options, "-o", str(tmp_path / "plain.mp4")]) == 0
    assert c2pa_sign.read(str(tmp_path / "plain.mp4")) is None
    save_settings(UserSettings(sign_cert=credentials["cert"], sign_key=credentials["key"]))
    out = tmp_path / "signed.mp4"
    assert main(["generate", *options, "-o", str(out)]) == 0
    store = c2pa_sign.read(str(out))
    assert store is not None and store["validation_state"] in ("Valid", "Trusted")
    assert c2pa_sign.kinora_assertion(store)["ranges"] == read_provenance(str(out))["ranges"]

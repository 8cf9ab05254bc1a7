"""SCRAM (core/auth/scram.py) against RFC 7677's SCRAM-SHA-256 test vector, and the ways
an exchange must fail: a wrong proof, an unknown user (indistinguishable from a wrong
password), a replayed nonce, channel binding, delegation tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from streamscope.core.auth.scram import (
    ScramCredential,
    ScramError,
    ScramServer,
    make_credential,
    verify_password,
)

# RFC 7677 section 3
SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
SERVER_FIRST = (b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
CLIENT_FINAL = (b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
                b"p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
SERVER_FINAL = b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def _rfc_server(**kw: object) -> ScramServer:
    cred = make_credential("pencil", "SCRAM-SHA-256", salt=SALT, iterations=4096)
    return ScramServer("SCRAM-SHA-256", {"user": cred}.get, nonce=SERVER_NONCE, **kw)


def test_rfc7677_vector_server_first_and_final_match():
    server = _rfc_server()
    assert server.first(CLIENT_FIRST) == SERVER_FIRST
    assert server.final(CLIENT_FINAL) == SERVER_FINAL
    assert server.user == "user"


def test_stored_credential_holds_keys_derived_from_the_password_not_the_password():
    cred = make_credential("pencil", "SCRAM-SHA-256", salt=SALT, iterations=4096)
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", SALT, 4096)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    assert cred.stored_key == hashlib.sha256(client_key).digest()
    assert cred.server_key == hmac.new(salted, b"Server Key", "sha256").digest()
    assert b"pencil" not in repr(cred).encode()


def test_wrong_proof_fails_with_invalid_credentials():
    server = _rfc_server()
    server.first(CLIENT_FIRST)
    bad = CLIENT_FINAL[:-8] + b"AAAAAAA="
    with pytest.raises(ScramError, match="invalid credentials"):
        server.final(bad)


def test_unknown_user_gets_a_stable_made_up_salt_and_fails_only_at_the_proof():
    first = b"n,,n=nobody,r=abc"
    a = _rfc_server(fake_salt_key=b"k").first(first)
    b = _rfc_server(fake_salt_key=b"k").first(first)
    assert a.split(b",")[1] == b.split(b",")[1]  # same salt each time: no tell
    server = _rfc_server(fake_salt_key=b"k")
    reply = server.first(first).decode()
    nonce = reply.split(",")[0][2:]
    with pytest.raises(ScramError, match="invalid credentials"):
        server.final(f"c=biws,r={nonce},p={base64.b64encode(b'x' * 32).decode()}".encode())


def test_librdkafka_before_2_6_1_repeating_the_client_nonce_is_accepted():
    # librdkafka#4895: r=<client nonce><client nonce><server nonce>; the proof covers it.
    cred = make_credential("pencil", "SCRAM-SHA-256", salt=SALT, iterations=4096)
    server = ScramServer("SCRAM-SHA-256", {"user": cred}.get, nonce=SERVER_NONCE)
    server.first(CLIENT_FIRST)
    nonce = "rOprNGfwEbeRWgbNEkqO" * 2 + SERVER_NONCE
    without_proof = f"c=biws,r={nonce}"
    auth = f"n=user,r=rOprNGfwEbeRWgbNEkqO,{SERVER_FIRST.decode()},{without_proof}".encode()
    salted = hashlib.pbkdf2_hmac("sha256", b"pencil", SALT, 4096)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    sig = hmac.new(hashlib.sha256(client_key).digest(), auth, "sha256").digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, sig, strict=True))).decode()
    assert server.final(f"{without_proof},p={proof}".encode()).startswith(b"v=")


def test_final_with_another_nonce_is_refused():
    server = _rfc_server()
    server.first(CLIENT_FIRST)
    with pytest.raises(ScramError, match="nonce"):
        server.final(CLIENT_FINAL.replace(b"k0,p=", b"k1,p="))


@pytest.mark.parametrize("message, why", [
    (b"p=tls-unique,,n=user,r=abc", "channel binding"),
    (b"n,,n=user,r=abc,tokenauth=true", "delegation tokens"),
    (b"n,,r=abc,n=user", "n= then r="),
    (b"n,,n=us=er,r=abc", "user name encoding"),
    (b"\xff\xfe", "UTF-8"),
    (b"garbage", "malformed"),
])
def test_malformed_or_unsupported_client_first_is_refused(message, why):
    with pytest.raises(ScramError, match=why):
        _rfc_server().first(message)


def test_escaped_user_names_are_decoded():
    cred = make_credential("pw", "SCRAM-SHA-512")
    seen: list[str] = []

    def lookup(name: str) -> ScramCredential | None:
        seen.append(name)
        return cred

    ScramServer("SCRAM-SHA-512", lookup).first(b"n,,n=a=2Cb=3Dc,r=xyz")
    assert seen == ["a,b=c"]


def test_verify_password_checks_the_salted_hash():
    cred = make_credential("s3cret", "SCRAM-SHA-512")
    assert verify_password(cred, "s3cret", "SCRAM-SHA-512")
    assert not verify_password(cred, "s3cret ", "SCRAM-SHA-512")


def test_fewer_than_4096_iterations_are_refused():
    with pytest.raises(ValueError, match="4096"):
        make_credential("pw", "SCRAM-SHA-256", iterations=1000)

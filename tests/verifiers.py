"""Our access tokens, checked by verifiers other people wrote (pinned in
requirements-test.txt), against a running dev server.

    verifiers.py rs256 BASE AUDIENCE   PyJWT's PyJWKClient, found from the
                                       discovery document, and SimpleJWT
                                       with ALGORITHM RS256 and JWK_URL
    verifiers.py hs256 BASE KEY        SimpleJWT with the shared key, as
                                       today's Django services run it
    verifiers.py legacy BASE KEY       refresh tokens SimpleJWT mints with the
                                       Django system's KEY, exchanged at a
                                       server holding its imported users

One mode per process: SimpleJWT builds its token backend once, at import.
"""

import datetime
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

import django
import jwt
from django.conf import settings

PHONE = "+79123456789"


def call(base, method, path, body=None, token=None):
    request = urllib.request.Request(base + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, data) as response:
        return json.load(response)


def login(base):
    call(base, "POST", "/phone/", {"phone": PHONE})
    sent = call(base, "GET", "/dev/sms?phone=" + urllib.parse.quote(PHONE))
    text = sent["messages"][-1]["text"]
    code = next(word.strip(".") for word in text.split() if word.strip(".").isdigit())
    return call(base, "POST", "/code/", {"phone": PHONE, "code": code})


def simplejwt(**options):
    settings.configure(
        SECRET_KEY="verifiers-test-only",
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "rest_framework_simplejwt",
        ],
        SIMPLE_JWT=options,
    )
    django.setup()


def fails(check, what):
    try:
        check()
    except Exception as error:  # each library raises its own
        print(f"  refused as it should be: {what} ({type(error).__name__})")
        return
    sys.exit(f"{what}: accepted")


def rs256(base, audience):
    tokens = login(base)
    access = tokens["access"]

    # PyJWT: everything from the issuer's discovery document.
    discovery = call(base, "GET", "/.well-known/openid-configuration")
    issuer = discovery["issuer"]
    client = jwt.PyJWKClient(discovery["jwks_uri"])
    key = client.get_signing_key_from_jwt(access)
    claims = jwt.decode(
        access, key.key, algorithms=["RS256"], audience=audience, issuer=issuer
    )
    assert claims["user_id"] == tokens["user_id"], claims
    assert claims["token_type"] == "access", claims
    print(f"PyJWT PyJWKClient: verified user {claims['user_id']} (kid {key.key_id})")
    fails(
        lambda: jwt.decode(access, key.key, algorithms=["RS256"], audience="other", issuer=issuer),
        "PyJWT, another audience",
    )

    # SimpleJWT, as a Django service that trusts our JWKS.
    simplejwt(
        ALGORITHM="RS256",
        JWK_URL=discovery["jwks_uri"],
        ISSUER=issuer,
        AUDIENCE=audience,
        SIGNING_KEY=None,
        VERIFYING_KEY=None,
    )
    from rest_framework_simplejwt.backends import TokenBackend
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken(access)
    assert token["user_id"] == tokens["user_id"], token.payload
    print(f"SimpleJWT RS256 JWK_URL: verified user {token['user_id']}")
    wrong_issuer = TokenBackend(
        "RS256", audience=audience, issuer="https://elsewhere.example.com", jwk_url=discovery["jwks_uri"]
    )
    fails(lambda: wrong_issuer.decode(access), "SimpleJWT, another issuer")
    fails(lambda: AccessToken(tokens["refresh"]), "SimpleJWT, a refresh token as access")


def hs256(base, key):
    tokens = login(base)
    simplejwt(ALGORITHM="HS256", SIGNING_KEY=key)
    from rest_framework_simplejwt.backends import TokenBackend
    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken(tokens["access"])
    assert token["user_id"] == tokens["user_id"], token.payload
    print(f"SimpleJWT HS256 shared key: verified user {token['user_id']}")
    other = TokenBackend("HS256", signing_key="another-key-another-key-another-key")
    fails(lambda: other.decode(tokens["access"]), "SimpleJWT, another key")


class OldUser:
    """What SimpleJWT's `for_user` reads of a user of the Django system."""

    def __init__(self, pk):
        self.id = pk
        self.is_active = True


def refresh(base, token):
    """POST /token/refresh/: (status, body)."""
    try:
        return 200, call(base, "POST", "/token/refresh/", {"refresh": token})
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def legacy(base, key):
    simplejwt(ALGORITHM="HS256", SIGNING_KEY=key)
    from rest_framework_simplejwt.tokens import RefreshToken

    def before_the_import(token):
        # Issued by the old system a day before its users were imported.
        token.set_iat(at_time=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=1))
        return token

    old = before_the_import(RefreshToken.for_user(OldUser(1)))
    assert isinstance(old["user_id"], str), old.payload
    status, tokens = refresh(base, str(old))
    assert status == 200, (status, tokens)
    profile = call(base, "GET", "/profile/me/", token=tokens["access"])
    assert profile["id"] == 1, profile
    print(f"SimpleJWT refresh token of the old system: exchanged for user {profile['id']}")
    status, renewed = refresh(base, tokens["refresh"])
    assert status == 200, (status, renewed)

    status, body = refresh(base, str(old))
    assert (status, body["code"]) == (401, "token_not_valid"), (status, body)
    print("  replayed: 401 token_not_valid")
    # Id 302 was reported (an impossible number); 999999 never existed.
    for pk in (302, 999999):
        status, body = refresh(base, str(before_the_import(RefreshToken.for_user(OldUser(pk)))))
        assert (status, body["code"]) == (401, "token_not_valid"), (pk, status, body)
    print("  a user that was not imported: 401 token_not_valid")
    # Minted with the old key after the import: the old system issued no
    # such token, so it opens nothing.
    status, body = refresh(base, str(RefreshToken.for_user(OldUser(3))))
    assert (status, body["code"]) == (401, "token_not_valid"), (status, body)
    print("  issued after the user's import: 401 token_not_valid")
    # A user who signed up here never had a Django session.
    joined = login(base)["user_id"]
    status, body = refresh(base, str(before_the_import(RefreshToken.for_user(OldUser(joined)))))
    assert (status, body["code"]) == (401, "token_not_valid"), (status, body)
    print("  a user who signed up here: 401 token_not_valid")
    from rest_framework_simplejwt.backends import TokenBackend

    forged = RefreshToken.for_user(OldUser(2))
    other = TokenBackend("HS256", signing_key="another-key-another-key-another-key")
    status, body = refresh(base, other.encode(forged.payload))
    assert (status, body["code"]) == (401, "token_not_valid"), (status, body)
    print("  signed with another key: 401 token_not_valid")


if __name__ == "__main__":
    mode, base, arg = sys.argv[1:4]
    {"rs256": rs256, "hs256": hs256, "legacy": legacy}[mode](base, arg)

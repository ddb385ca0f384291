"""The altcha library (PyPI, its v1 protocol) solves the challenges /phone/ asks for, as a
client would, against a dev server whose per-source soft limit is one send
an hour: its solution lets one send through, once; a challenge the library
signs with another key is refused.

    python tests/altcha_client.py BASE_URL
"""

import json
import sys
import urllib.error
import urllib.request

from altcha import v1 as altcha


def post(base, path, body):
    request = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def solved(challenge):
    """The library's solution, as the widget's base64 payload."""
    theirs = altcha.Challenge(
        algorithm=challenge["algorithm"],
        challenge=challenge["challenge"],
        max_number=challenge["maxnumber"],
        salt=challenge["salt"],
        signature=challenge["signature"],
    )
    solution = altcha.solve_challenge(theirs)
    assert solution is not None, "no number up to maxnumber solves it"
    payload = altcha.Payload(
        algorithm=challenge["algorithm"],
        challenge=challenge["challenge"],
        number=solution.number,
        salt=challenge["salt"],
        signature=challenge["signature"],
    )
    return payload.to_base64()


def main(base):
    status, body = post(base, "/phone/", {"phone": "+79005550301"})
    assert status == 200, (status, body)
    status, body = post(base, "/phone/", {"phone": "+79005550302"})
    assert (status, body["code"]) == (429, "challenge_required"), (status, body)
    challenge = body["challenge"]
    assert challenge["salt"].endswith("&") and "?expires=" in challenge["salt"], challenge

    solution = solved(challenge)
    status, body = post(base, "/phone/", {"phone": "+79005550302", "challenge": solution})
    assert status == 200, (status, body)
    status, body = post(base, "/phone/", {"phone": "+79005550303", "challenge": solution})
    assert (status, body["code"]) == (400, "invalid_request"), ("a solution works once", status, body)

    # A challenge the library makes under a key that is not ours.
    foreign = altcha.create_challenge(
        altcha.ChallengeOptions(hmac_key="not the service's key", max_number=2000)
    )
    payload = solved(
        {
            "algorithm": foreign.algorithm,
            "challenge": foreign.challenge,
            "maxnumber": foreign.max_number,
            "salt": foreign.salt,
            "signature": foreign.signature,
        }
    )
    status, body = post(base, "/phone/", {"phone": "+79005550303", "challenge": payload})
    assert (status, body["code"]) == (400, "invalid_request"), (status, body)
    print("altcha: the library solved our challenge; the solution worked once; a foreign one was refused")


if __name__ == "__main__":
    main(sys.argv[1])

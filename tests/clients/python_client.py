"""The Python client that openapi-python-client generates from openapi.yaml,
driven against two dev servers: the seed flow, an invite, a refresh, a
revoke, and every documented error of every operation. Each answer must
parse into the type the client declares for its status, and every
(operation, status) the document lists must be seen.

The 500s and 503s come from a second dev server on the aws backend, whose
AWS endpoint is a proxy in this process: it passes calls through to moto,
or fails them as DynamoDB or SNS would when told to. Both servers share a
signing key, so tokens from the first are good at the second.

    python python_client.py DEV_SERVER CREATE_TABLES MOTO_ENDPOINT LOG_DIR
"""

import http.server
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from phone_auth_client import AuthenticatedClient, Client
from phone_auth_client import models
from phone_auth_client.api.login import enter_code, send_code
from phone_auth_client.api.profile import (
    activate_invite,
    delete_account,
    get_profile,
    send_phone_change,
    verify_phone_change,
)
from phone_auth_client.api.keys import get_jwks, get_open_id_configuration
from phone_auth_client.api.tokens import end_session, list_sessions, refresh_tokens, revoke_session
from phone_auth_client.api.admin import (
    admin_delete_user,
    admin_disable_user,
    admin_enable_user,
    admin_find_user,
    admin_get_user,
    admin_set_claims,
    admin_sign_out_user,
)

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi.yaml"
# The dev servers' ADMIN_TOKEN: what opens their admin API.
ADMIN_TOKEN = secrets.token_hex(16)
# Far larger than the 4 KiB a body may have.
TOO_LARGE = json.dumps({"phone": " " * 5000}).encode()

SEEN = set()


def check(operation, response, status, kind, code=None):
    """The answer has this status and parsed into `kind` (None: no body)."""
    parsed = response.parsed
    where = f"{operation} {status}"
    assert response.status_code == status, f"{where}: got {response.status_code} {response.content!r}"
    if kind is None:
        assert parsed is None and response.content == b"", f"{where}: a body {response.content!r}"
    else:
        assert isinstance(parsed, kind), f"{where}: parsed into {type(parsed).__name__}, not {kind.__name__}"
    if code is not None:
        assert parsed.code.value == code, f"{where}: code {parsed.code.value}, not {code}"
        assert parsed.status == status, f"{where}: status {parsed.status} in the body"
    SEEN.add((operation, status))
    return parsed


def raw(module, client, method=None, content=None, **arguments):
    """An operation's request with another method or body than the generated
    function would send, parsed by the generated code all the same."""
    request = module._get_kwargs(**arguments)
    if method is not None:
        request["method"] = method
    if content is not None:
        request.pop("json", None)
        request["content"] = content
        request["headers"] = {"Content-Type": "application/json"}
    answer = client.get_httpx_client().request(**request)
    return module._build_response(client=client, response=answer)


def operation_id(module):
    return {
        send_code: "sendCode",
        enter_code: "enterCode",
        get_profile: "getProfile",
        activate_invite: "activateInvite",
        delete_account: "deleteAccount",
        refresh_tokens: "refreshTokens",
        revoke_session: "revokeSession",
        list_sessions: "listSessions",
        end_session: "endSession",
        get_jwks: "getJwks",
        get_open_id_configuration: "getOpenIdConfiguration",
        send_phone_change: "sendPhoneChange",
        verify_phone_change: "verifyPhoneChange",
        admin_find_user: "adminFindUser",
        admin_get_user: "adminGetUser",
        admin_delete_user: "adminDeleteUser",
        admin_disable_user: "adminDisableUser",
        admin_enable_user: "adminEnableUser",
        admin_sign_out_user: "adminSignOutUser",
        admin_set_claims: "adminSetClaims",
    }[module]


def documented():
    spec = yaml.safe_load(DOCUMENT.read_text())
    pairs = set()
    for item in spec["paths"].values():
        for method, operation in item.items():
            if method != "parameters":
                pairs |= {(operation["operationId"], int(s)) for s in operation["responses"]}
    return pairs


class DevServer:
    """A dev-server process on a free port, stopped with `stop`."""

    def __init__(self, binary, log, **settings):
        env = {**os.environ, "PORT": "0", **settings}
        with open(log, "w") as stderr:
            self.process = subprocess.Popen(
                [binary], env=env, stdout=subprocess.PIPE, stderr=stderr, text=True, start_new_session=True
            )
        # A server that never says where it listens is stopped, ending the loop.
        timer = threading.Timer(120, self.process.kill)
        timer.start()
        for line in self.process.stdout:
            match = re.search(r"listening on (http://[0-9.:]+)", line)
            if match:
                self.base = match.group(1)
                break
        else:
            raise SystemExit(f"{binary} exited with {self.process.wait()} before it listened")
        timer.cancel()

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait()


class FaultyAws(http.server.ThreadingHTTPServer):
    """moto, or a failing DynamoDB or SNS when `fail` names it."""

    daemon_threads = True

    def __init__(self, upstream):
        super().__init__(("127.0.0.1", 0), FaultyAwsHandler)
        self.upstream = upstream
        self.fail = {}
        self.endpoint = f"http://127.0.0.1:{self.server_address[1]}"


class FaultyAwsHandler(http.server.BaseHTTPRequestHandler):
    # Keep-alive, as the SDK expects of AWS.
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", self.headers.get("Authorization", ""))
        service = scope.group(1) if scope else ""
        fault = self.server.fail.get(service)
        if fault == "dynamodb-throttled":
            self.answer(400, "application/x-amz-json-1.0", json.dumps(
                {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
            ).encode())
        elif fault == "dynamodb-invalid":
            self.answer(400, "application/x-amz-json-1.0", json.dumps(
                {"__type": "com.amazon.coral.validate#ValidationException", "message": "broken"}
            ).encode())
        elif fault == "sns-refused":
            self.answer(400, "text/xml", (
                b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code>"
                b"<Message>refused</Message></Error><RequestId>1</RequestId></ErrorResponse>"
            ))
        else:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            request = urllib.request.Request(self.server.upstream + self.path, data=body, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as reply:
                    status, content_type, payload = reply.status, reply.headers.get("Content-Type"), reply.read()
            except urllib.error.HTTPError as error:
                status, content_type, payload = error.code, error.headers.get("Content-Type"), error.read()
            self.answer(status, content_type or "application/octet-stream", payload)

    def answer(self, status, content_type, payload):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # Two calls in flight, the first failed: the SDK dropped the other.
            pass

    def log_message(self, *_):
        pass


def code_sent_to(base, phone):
    url = f"{base}/dev/sms?" + urllib.parse.urlencode({"phone": phone})
    with urllib.request.urlopen(url, timeout=10) as reply:
        text = json.load(reply)["messages"][-1]["text"]
    return re.search(r"\d{4,8}", text).group()


def log_in(client, base, phone, created=True):
    """The seed flow: a code by SMS, the code, the profile. Answers the
    login and the profile."""
    check("sendCode", send_code.sync_detailed(client=client, body=models.PhoneRequest(phone=phone)), 200, models.CodeSent)
    body = models.CodeRequest(phone=phone, code=code_sent_to(base, phone))
    login = check("enterCode", enter_code.sync_detailed(client=client, body=body), 200, models.Login)
    assert login.created is created and login.token == login.access
    own = AuthenticatedClient(base_url=base, token=login.access)
    profile = check("getProfile", get_profile.sync_detailed("me", client=own), 200, models.Profile)
    assert profile.phone == phone and profile.id == login.user_id and profile.inv is None
    return login, profile


def wrong(code):
    return "".join(str((int(d) + 1) % 10) for d in code)


def healthy_server(base):
    """Everything a working server answers."""
    anyone = Client(base_url=base)
    first, first_profile = log_in(anyone, base, "+79001112233")
    caller, caller_profile = log_in(anyone, base, "+79123456789")
    _, later_profile = log_in(anyone, base, "+79005556677")
    me = AuthenticatedClient(base_url=base, token=caller.access)

    # An invite: the caller's own, none, a later user's, a good one, twice.
    cases = [
        (caller_profile.invite, 400, models.InviteProblem, "invite_self"),
        ("ZZZZZZ", 404, models.InviteNotFoundProblem, "invite_not_found"),
        (later_profile.invite, 409, models.InviteConflictProblem, "invite_not_allowed"),
        (first_profile.invite.lower(), 200, models.Profile, None),
        (first_profile.invite, 409, models.InviteConflictProblem, "invite_already_activated"),
    ]
    for inv, status, kind, code in cases:
        answer = activate_invite.sync_detailed("me", client=me, body=models.InviteRequest(inv=inv))
        parsed = check("activateInvite", answer, status, kind, code)
        if status == 200:
            assert (parsed.inv, parsed.inv_phone) == (first_profile.invite, "+79001112233")
            assert parsed.parent_invite == first_profile.id
    inviter = AuthenticatedClient(base_url=base, token=first.access)
    page = check("getProfile", get_profile.sync_detailed("me", client=inviter), 200, models.Profile)
    assert [r.phone for r in page.referrals] == ["+79123456789"] and page.referrals_count == 1
    assert page.referrals[0].id == caller_profile.id

    # Tokens.
    pair = check(
        "refreshTokens",
        refresh_tokens.sync_detailed(client=anyone, body=models.RefreshRequest(refresh=caller.refresh)),
        200,
        models.TokenPair,
    )
    for module, request in ((refresh_tokens, models.RefreshRequest), (revoke_session, models.RevokeRequest)):
        name = operation_id(module)
        check(name, raw(module, anyone, content=b"{}", body=request(refresh="")), 400,
              models.InvalidRequestProblem, "invalid_request")
        check(name, module.sync_detailed(client=anyone, body=request(refresh=caller.access)), 401,
              models.TokenNotValidProblem, "token_not_valid")
    revoked = revoke_session.sync_detailed(client=anyone, body=models.RevokeRequest(refresh=pair.refresh))
    check("revokeSession", revoked, 204, None)
    # Logout everywhere: both of the first user's sessions end.
    second, _ = log_in(anyone, base, "+79001112233", created=False)
    everywhere = models.RevokeRequest(refresh=second.refresh, scope=models.RevokeRequestScope.ALL)
    check("revokeSession", revoke_session.sync_detailed(client=anyone, body=everywhere), 204, None)
    for token in (first.refresh, second.refresh):
        answer = refresh_tokens.sync_detailed(client=anyone, body=models.RefreshRequest(refresh=token))
        check("refreshTokens", answer, 401, models.TokenNotValidProblem, "token_not_valid")
    again = refresh_tokens.sync_detailed(client=anyone, body=models.RefreshRequest(refresh=pair.refresh))
    check("refreshTokens", again, 401, models.TokenNotValidProblem, "token_not_valid")

    # My devices: the one session, logged out by its id, then gone.
    device, _ = log_in(anyone, base, "+79005550022")
    mine = AuthenticatedClient(base_url=base, token=device.access)
    listed = check("listSessions", list_sessions.sync_detailed(client=mine), 200, models.Sessions)
    assert [s.current for s in listed.sessions] == [True], listed
    sid = listed.sessions[0].id
    check("endSession", end_session.sync_detailed(sid, client=mine), 204, None)
    check("endSession", end_session.sync_detailed(sid, client=mine), 404, models.NotFoundProblem, "not_found")
    for module, arguments in [(list_sessions, {}), (end_session, {"id": sid})]:
        check(operation_id(module), module.sync_detailed(client=Client(base_url=base), **arguments), 401,
              models.UnauthorizedProblem, "not_authenticated")

    # Sending and entering codes.
    for phone, code in [("12345", "invalid_phone"), ("+447911123456", "phone_not_allowed")]:
        answer = send_code.sync_detailed(client=anyone, body=models.PhoneRequest(phone=phone))
        check("sendCode", answer, 400, models.PhoneProblem, code)
    # A second send within the hour is allowed, a third is not.
    again = models.PhoneRequest(phone="+79005556677")
    check("sendCode", send_code.sync_detailed(client=anyone, body=again), 200, models.CodeSent)
    answer = send_code.sync_detailed(client=anyone, body=again)
    check("sendCode", answer, 429, models.SendLimitProblem, "rate_limited")
    burned = "+79005550003"
    send_code.sync_detailed(client=anyone, body=models.PhoneRequest(phone=burned))
    code = code_sent_to(base, burned)
    for status, kind, problem in [(400, models.CodeProblem, "invalid_code"),
                                  (429, models.TooManyAttemptsProblem, "too_many_attempts")]:
        answer = enter_code.sync_detailed(client=anyone, body=models.CodeRequest(phone=burned, code=wrong(code)))
        check("enterCode", answer, status, kind, problem)

    # The profile's own errors.
    bad = get_profile.sync_detailed("me", client=me, referrals_limit=0)
    check("getProfile", bad, 400, models.InvalidRequestProblem, "invalid_request")
    for module, arguments in [(get_profile, {}), (activate_invite, {"body": models.InviteRequest(inv="ZZZZZZ")})]:
        name = operation_id(module)
        check(name, module.sync_detailed("me", client=Client(base_url=base), **arguments), 401,
              models.UnauthorizedProblem, "not_authenticated")
        forged = AuthenticatedClient(base_url=base, token="not.a.token")
        check(name, module.sync_detailed("me", client=forged, **arguments), 401,
              models.UnauthorizedProblem, "token_not_valid")
        check(name, module.sync_detailed(str(first_profile.id), client=me, **arguments), 403,
              models.ForbiddenProblem, "permission_denied")
        check(name, module.sync_detailed("nobody", client=me, **arguments), 404,
              models.NotFoundProblem if module is get_profile else models.InviteNotFoundProblem, "not_found")

    # Deleting an account: each refusal, then the deletion, then again.
    doomed, doomed_profile = log_in(anyone, base, "+79005550020")
    own = AuthenticatedClient(base_url=base, token=doomed.access)
    some_code = models.DeleteRequest(code="123456")
    check("deleteAccount", raw(delete_account, own, content=b"{}", id="me", body=some_code), 400,
          models.DeleteProblem, "invalid_request")
    check("deleteAccount", delete_account.sync_detailed("me", client=own, body=some_code), 400,
          models.DeleteProblem, "code_expired")
    check("deleteAccount", delete_account.sync_detailed("me", client=Client(base_url=base), body=some_code), 401,
          models.UnauthorizedProblem, "not_authenticated")
    forged = AuthenticatedClient(base_url=base, token="not.a.token")
    check("deleteAccount", delete_account.sync_detailed("me", client=forged, body=some_code), 401,
          models.UnauthorizedProblem, "token_not_valid")
    check("deleteAccount", delete_account.sync_detailed(str(first_profile.id), client=own, body=some_code), 403,
          models.ForbiddenProblem, "permission_denied")
    send_code.sync_detailed(client=anyone, body=models.PhoneRequest(phone=doomed_profile.phone))
    guess = models.DeleteRequest(code=wrong(code_sent_to(base, doomed_profile.phone)))
    for status, kind, problem in [(400, models.DeleteProblem, "invalid_code"),
                                  (429, models.TooManyAttemptsProblem, "too_many_attempts")]:
        check("deleteAccount", delete_account.sync_detailed("me", client=own, body=guess), status, kind, problem)
    gone, gone_profile = log_in(anyone, base, "+79005550021")
    own = AuthenticatedClient(base_url=base, token=gone.access)
    send_code.sync_detailed(client=anyone, body=models.PhoneRequest(phone=gone_profile.phone))
    right = models.DeleteRequest(code=code_sent_to(base, gone_profile.phone))
    check("deleteAccount", delete_account.sync_detailed("me", client=own, body=right), 204, None)
    check("deleteAccount", delete_account.sync_detailed("me", client=own, body=right), 404,
          models.NotFoundProblem, "not_found")
    check("getProfile", get_profile.sync_detailed("me", client=own), 404, models.NotFoundProblem, "not_found")

    admin_api(base, anyone)
    phone_change(base, anyone, first_profile)

    # The verifiers' documents (this server signs RS256).
    keys = check("getJwks", get_jwks.sync_detailed(client=anyone), 200, models.Jwks)
    assert [k.kid for k in keys.keys] == ["clients"], keys
    discovery = check("getOpenIdConfiguration", get_open_id_configuration.sync_detailed(client=anyone), 200,
                      models.OpenIdConfiguration)
    assert discovery.jwks_uri == discovery.issuer + "/.well-known/jwks.json", discovery
    for module in (get_jwks, get_open_id_configuration):
        check(operation_id(module), raw(module, anyone, method="post"), 405,
              models.MethodNotAllowedProblem, "method_not_allowed")

    # 405 and 413, on every operation.
    every = [
        (send_code, {"body": models.PhoneRequest(phone="+79123456789")}, "get"),
        (enter_code, {"body": models.CodeRequest(phone="+79123456789", code="123456")}, "get"),
        (get_profile, {"id": "me"}, "put"),
        (activate_invite, {"id": "me", "body": models.InviteRequest(inv="ZZZZZZ")}, "put"),
        (delete_account, {"id": "me", "body": models.DeleteRequest(code="123456")}, "put"),
        (refresh_tokens, {"body": models.RefreshRequest(refresh="x")}, "get"),
        (revoke_session, {"body": models.RevokeRequest(refresh="x")}, "get"),
        (list_sessions, {}, "post"),
        (end_session, {"id": "x"}, "get"),
        (send_phone_change, {"id": "me", "body": models.PhoneRequest(phone="+79005550049")}, "get"),
        (verify_phone_change, {"id": "me", "body": models.CodeRequest(phone="+79005550049", code="123456")},
         "get"),
    ]
    operator = AuthenticatedClient(base_url=base, token=ADMIN_TOKEN)
    for module, arguments, other_method in every:
        name = operation_id(module)
        check(name, raw(module, me, method=other_method, **arguments), 405,
              models.MethodNotAllowedProblem, "method_not_allowed")
        check(name, raw(module, me, content=TOO_LARGE, **arguments), 413,
              models.PayloadTooLargeProblem, "payload_too_large")
    for module, arguments in admin_calls(str(caller_profile.id), "+79123456789"):
        name = operation_id(module)
        check(name, raw(module, operator, method="patch", **arguments), 405,
              models.MethodNotAllowedProblem, "method_not_allowed")
        check(name, raw(module, operator, content=TOO_LARGE, **arguments), 413,
              models.PayloadTooLargeProblem, "payload_too_large")
    return caller


def phone_change(base, anyone, other_profile):
    """Moving an account to a new number: each refusal, then the move."""
    mover, mover_profile = log_in(anyone, base, "+79005550040")
    own = AuthenticatedClient(base_url=base, token=mover.access)
    forged = AuthenticatedClient(base_url=base, token="not.a.token")
    new, spare = "+79005550041", "+79005550042"
    for module, body in [(send_phone_change, models.PhoneRequest(phone=new)),
                         (verify_phone_change, models.CodeRequest(phone=new, code="123456"))]:
        name = operation_id(module)
        check(name, module.sync_detailed("me", client=Client(base_url=base), body=body), 401,
              models.UnauthorizedProblem, "not_authenticated")
        check(name, module.sync_detailed("me", client=forged, body=body), 401,
              models.UnauthorizedProblem, "token_not_valid")
        check(name, module.sync_detailed(str(other_profile.id), client=own, body=body), 403,
              models.ForbiddenProblem, "permission_denied")
        check(name, module.sync_detailed("nobody", client=own, body=body), 404,
              models.NotFoundProblem, "not_found")
    bad = models.PhoneRequest(phone="12")
    check("sendPhoneChange", send_phone_change.sync_detailed("me", client=own, body=bad), 400,
          models.PhoneProblem, "invalid_phone")
    # Two sends an hour to a number; the third waits.
    for status, kind in [(200, models.CodeSent), (200, models.CodeSent), (429, models.SendLimitProblem)]:
        answer = send_phone_change.sync_detailed("me", client=own, body=models.PhoneRequest(phone=new))
        check("sendPhoneChange", answer, status, kind)
    guess = models.CodeRequest(phone=new, code=wrong(code_sent_to(base, new)))
    for status, kind, problem in [(400, models.CodeProblem, "invalid_code"),
                                  (429, models.TooManyAttemptsProblem, "too_many_attempts")]:
        check("verifyPhoneChange", verify_phone_change.sync_detailed("me", client=own, body=guess), status, kind,
              problem)
    # Someone else's number: refused after its code.
    taken = "+79123456789"
    send_phone_change.sync_detailed("me", client=own, body=models.PhoneRequest(phone=taken))
    right = models.CodeRequest(phone=taken, code=code_sent_to(base, taken))
    check("verifyPhoneChange", verify_phone_change.sync_detailed("me", client=own, body=right), 409,
          models.PhoneTakenProblem, "phone_taken")
    send_phone_change.sync_detailed("me", client=own, body=models.PhoneRequest(phone=spare))
    right = models.CodeRequest(phone=spare, code=code_sent_to(base, spare))
    moved = check("verifyPhoneChange", verify_phone_change.sync_detailed("me", client=own, body=right), 200,
                  models.Profile)
    assert moved.phone == spare and moved.id == mover_profile.id, moved


def admin_calls(user_id, phone):
    """Every admin operation, with what it takes; the deletion last."""
    return [
        (admin_find_user, {"phone": phone}),
        (admin_get_user, {"id": user_id}),
        (admin_disable_user, {"id": user_id, "body": models.DisableRequest(reason="client test")}),
        (admin_enable_user, {"id": user_id}),
        (admin_sign_out_user, {"id": user_id}),
        (admin_set_claims, {"id": user_id,
                            "body": models.ClaimsRequest(claims=models.ClaimsRequestClaims.from_dict({"role": "editor"}))}),
        (admin_delete_user, {"id": user_id}),
    ]


def admin_api(base, anyone):
    """The admin API's answers, and a disabled account's refusals."""
    subject, subject_profile = log_in(anyone, base, "+79005550030")
    user = AuthenticatedClient(base_url=base, token=subject.access)
    operator = AuthenticatedClient(base_url=base, token=ADMIN_TOKEN)
    calls = admin_calls(str(subject_profile.id), subject_profile.phone)
    for module, arguments in calls:
        name = operation_id(module)
        check(name, module.sync_detailed(client=Client(base_url=base), **arguments), 401,
              models.NotAuthenticatedProblem, "not_authenticated")
        check(name, module.sync_detailed(client=user, **arguments), 403,
              models.PermissionDeniedProblem, "permission_denied")
        if module is not admin_find_user:
            check(name, module.sync_detailed(client=operator, **{**arguments, "id": "4242"}), 404,
                  models.NotFoundProblem, "not_found")
    check("adminFindUser", admin_find_user.sync_detailed(client=operator, phone="12"), 400,
          models.InvalidPhoneProblem, "invalid_phone")
    for module in (admin_disable_user, admin_set_claims):
        answer = raw(module, operator, content=b"{}", id=str(subject_profile.id),
                     body=dict(calls)[module]["body"])
        check(operation_id(module), answer, 400, models.InvalidRequestProblem, "invalid_request")

    found = check("adminFindUser", admin_find_user.sync_detailed(client=operator, phone=subject_profile.phone),
                  200, models.AdminUsers)
    assert [u.id for u in found.users] == [subject_profile.id], found
    seen = check("adminGetUser", admin_get_user.sync_detailed(str(subject_profile.id), client=operator), 200,
                 models.AdminUser)
    assert seen.sessions == 1 and seen.disabled is False, seen
    disabled = check("adminDisableUser", admin_disable_user.sync_detailed(
        str(subject_profile.id), client=operator, body=models.DisableRequest(reason="client test")), 200,
        models.AdminUser)
    assert disabled.disabled and disabled.disabled_reason == "client test" and disabled.sessions == 0, disabled
    # A disabled account's access token and right code are refused.
    check("listSessions", list_sessions.sync_detailed(client=user), 403,
          models.AccountDisabledProblem, "account_disabled")
    check("endSession", end_session.sync_detailed("0123456789abcdef0123456789abcdef", client=user), 403,
          models.AccountDisabledProblem, "account_disabled")
    check("getProfile", get_profile.sync_detailed("me", client=user), 403,
          models.ForbiddenProblem, "account_disabled")
    send_code.sync_detailed(client=anyone, body=models.PhoneRequest(phone=subject_profile.phone))
    right = models.CodeRequest(phone=subject_profile.phone, code=code_sent_to(base, subject_profile.phone))
    check("enterCode", enter_code.sync_detailed(client=anyone, body=right), 403,
          models.AccountDisabledProblem, "account_disabled")
    enabled = check("adminEnableUser", admin_enable_user.sync_detailed(str(subject_profile.id), client=operator),
                    200, models.AdminUser)
    assert not enabled.disabled, enabled
    check("adminSignOutUser", admin_sign_out_user.sync_detailed(str(subject_profile.id), client=operator), 204,
          None)
    claims = models.ClaimsRequest(claims=models.ClaimsRequestClaims.from_dict({"role": "editor"}))
    set_claims = check("adminSetClaims", admin_set_claims.sync_detailed(
        str(subject_profile.id), client=operator, body=claims), 200, models.AdminUser)
    assert set_claims.claims.to_dict() == {"role": "editor"}, set_claims
    check("adminDeleteUser", admin_delete_user.sync_detailed(str(subject_profile.id), client=operator), 204, None)


def failing_server(base, aws, tokens):
    """What a server answers when DynamoDB or SNS fails under it."""
    anyone = Client(base_url=base)
    me = AuthenticatedClient(base_url=base, token=tokens.access)
    calls = [
        (send_code, anyone, {"body": models.PhoneRequest(phone="+79005550004")}),
        (enter_code, anyone, {"body": models.CodeRequest(phone="+79005550004", code="123456")}),
        (get_profile, me, {"id": "me"}),
        (activate_invite, me, {"id": "me", "body": models.InviteRequest(inv="ZZZZZZ")}),
        (delete_account, me, {"id": "me", "body": models.DeleteRequest(code="123456")}),
        (refresh_tokens, anyone, {"body": models.RefreshRequest(refresh=tokens.refresh)}),
        (revoke_session, anyone, {"body": models.RevokeRequest(refresh=tokens.refresh)}),
        (list_sessions, me, {}),
        (end_session, me, {"id": "0123456789abcdef0123456789abcdef"}),
        (send_phone_change, me, {"id": "me", "body": models.PhoneRequest(phone="+79005550043")}),
        (verify_phone_change, me, {"id": "me", "body": models.CodeRequest(phone="+79005550043", code="123456")}),
    ]
    operator = AuthenticatedClient(base_url=base, token=ADMIN_TOKEN)
    calls += [(module, operator, arguments) for module, arguments in admin_calls("4815162342", "+79005550004")]
    faults = [
        ("dynamodb-throttled", 503, "service_unavailable"),
        ("dynamodb-invalid", 500, "internal_error"),
    ]
    for fault, status, code in faults:
        aws.fail = {"dynamodb": fault}
        for module, client, arguments in calls:
            answer = module.sync_detailed(client=client, **arguments)
            kind = models.ServiceUnavailableProblem if status == 503 else models.InternalErrorProblem
            if module in (send_code, send_phone_change):
                kind = models.SmsUnavailableProblem if status == 503 else models.InternalErrorProblem
            check(operation_id(module), answer, status, kind, code)
    aws.fail = {"sns": "sns-refused"}
    answer = send_code.sync_detailed(client=anyone, body=models.PhoneRequest(phone="+79005550005"))
    check("sendCode", answer, 503, models.SmsUnavailableProblem, "sms_unavailable")
    aws.fail = {}
    answer = send_code.sync_detailed(client=anyone, body=models.PhoneRequest(phone="+79005550005"))
    check("sendCode", answer, 200, models.CodeSent)


def rsa_private_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def main(dev_server, create_tables, moto, logs):
    common = {
        "ALLOWED_COUNTRY_CODES": "RU",
        "MAX_CODE_ATTEMPTS": "1",
        # Two sessions of one phone without a wait; the hourly cap still bites.
        "RESEND_COOLDOWN_SECONDS": "0",
        "PHONE_MAX_SENDS_PER_HOUR": "2",
        "JWT_SIGNING_KEY": secrets.token_hex(32),
        "JWT_KEY_ID": "clients",
        # RS256, so that the key set holds a key; one key for both servers,
        # which accept each other's tokens.
        "JWT_ALGORITHM": "RS256",
        "JWT_PRIVATE_KEY": rsa_private_pem(),
        "ADMIN_TOKEN": ADMIN_TOKEN,
    }
    suffix = secrets.token_hex(4)
    tables = {name: f"clients-{suffix}-{name.split('_')[0].lower()}"
              for name in ("USERS_TABLE", "CODES_TABLE", "SESSIONS_TABLE", "INVITES_TABLE")}
    aws = FaultyAws(moto)
    threading.Thread(target=aws.serve_forever, daemon=True).start()
    aws_env = {"AWS_ENDPOINT_URL": aws.endpoint, "AWS_MAX_ATTEMPTS": "1", **tables}
    subprocess.run([create_tables], env={**os.environ, **tables, "AWS_ENDPOINT_URL": moto}, check=True,
                   stdout=subprocess.DEVNULL)
    servers = []
    try:
        servers.append(DevServer(dev_server, f"{logs}/memory-server.log", BACKEND="memory", **common))
        tokens = healthy_server(servers[0].base)
        servers.append(DevServer(dev_server, f"{logs}/aws-server.log", BACKEND="aws", **common, **aws_env))
        failing_server(servers[1].base, aws, tokens)
    finally:
        for server in servers:
            server.stop()
        aws.shutdown()
    missing = documented() - SEEN
    assert not missing, f"documented, never answered through the client: {sorted(missing)}"
    print(f"generated Python client: {len(SEEN)} (operation, status) pairs, each parsed into its type")


if __name__ == "__main__":
    main(*sys.argv[1:])

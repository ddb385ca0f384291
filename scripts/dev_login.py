"""Logs a phone in on a dev server, reading the code from its outbox
(`GET /dev/sms`), and prints the access token. Standard library only."""

import json
import re
import sys
import urllib.parse
import urllib.request


def call(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def main(base, phone):
    call(f"{base}/phone/", {"phone": phone})
    outbox = call(f"{base}/dev/sms?" + urllib.parse.urlencode({"phone": phone}))
    code = re.search(r"\d{4,8}", outbox["messages"][-1]["text"]).group()
    print(call(f"{base}/code/", {"phone": phone, "code": code})["access"])


if __name__ == "__main__":
    main(*sys.argv[1:])

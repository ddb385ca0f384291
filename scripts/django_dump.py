"""Writes a dump of N users as the Django system's `manage.py dumpdata`
writes them (the shape of tests/fixtures/django-users.json), for the
import's benchmark: python3 scripts/django_dump.py N > users.json

Numbers are valid Russian mobiles (+7 9xx), one in ten typed with the trunk
prefix 8; a third of the users activated an earlier user's code; one in
five never logged in. Codes are drawn at random, so among 100,000 a few
repeat: the import reports those rows, as it would a real collision.
Deterministic for a given N.
"""

import json
import random
import string
import sys


def main(count):
    rng = random.Random(count)
    alphabet = string.ascii_uppercase + string.digits
    codes, phones = [], []
    out = sys.stdout
    out.write("[\n")
    for pk in range(1, count + 1):
        national = f"9{rng.randrange(10**9):09d}"
        phone = f"8{national}" if pk % 10 == 0 else f"+7{national}"
        while True:
            code = "".join(rng.choice(alphabet) for _ in range(6))
            if code not in codes[-1000:]:
                break
        inv, inv_phone, parent = "", "", None
        if pk > 1 and rng.random() < 1 / 3:
            owner = rng.randrange(1, pk)
            inv, inv_phone, parent = codes[owner - 1], phones[owner - 1], owner
        codes.append(code)
        phones.append(phone)
        last_login = None
        if rng.random() >= 0.2:
            last_login = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T12:00:00.000Z"
        row = {
            "model": "seedapp.user",
            "pk": pk,
            "fields": {
                "password": "",
                "last_login": last_login,
                "phone": phone,
                "invite": code,
                "inv": inv,
                "inv_phone": inv_phone,
                "parent_invite": parent,
            },
        }
        out.write(("," if pk > 1 else "") + json.dumps(row) + "\n")
    out.write("]\n")


if __name__ == "__main__":
    main(int(sys.argv[1]))

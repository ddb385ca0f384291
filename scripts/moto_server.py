"""moto's server, processing one request at a time.

DynamoDB applies every conditional write and every transaction atomically.
moto's own server is threaded and checks a condition and applies the write
without a lock, so two concurrent transactions can both pass a condition that
only one may. The race tests are about this service's conditions, not about
moto's threads: serialising requests gives moto DynamoDB's atomicity.

Usage: moto_server.py HOST PORT
"""

import os
import signal
import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    app = DomainDispatcherApplication(create_backend_app)
    lock = threading.Lock()

    def one_at_a_time(environ, start_response):
        with lock:
            # The whole body is produced inside the lock.
            return list(app(environ, start_response))

    run_simple(host, port, one_at_a_time, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

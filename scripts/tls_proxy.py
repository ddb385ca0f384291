"""A TLS terminator in front of moto, as DynamoDB and SNS are reached over TLS.

Makes a throwaway certificate authority and a certificate for localhost and
127.0.0.1 (RSA 2048, as AWS's endpoints present), writes DIR/ca-bundle.pem
(this machine's own roots plus that authority, so a client loads a store of
the usual size, as on Lambda), then forwards every TLS connection on PORT to
UPSTREAM (host:port) in plain TCP. The keys live in DIR only, for this run.

Usage: tls_proxy.py PORT UPSTREAM DIR
"""

import asyncio
import datetime
import ipaddress
import pathlib
import signal
import ssl
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SYSTEM_ROOTS = pathlib.Path("/etc/ssl/certs/ca-certificates.crt")


def certificate(subject, issuer, public_key, signing_key, ca, names=()):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)), critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def make_certificates(directory: pathlib.Path) -> ssl.SSLContext:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = certificate("phone-auth bench CA", "phone-auth bench CA", ca_key.public_key(), ca_key, True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    leaf = certificate("localhost", "phone-auth bench CA", key.public_key(), ca_key, False, names)

    pem = serialization.Encoding.PEM
    ca_pem = ca.public_bytes(pem)
    roots = SYSTEM_ROOTS.read_bytes() if SYSTEM_ROOTS.exists() else b""
    (directory / "ca.pem").write_bytes(ca_pem)
    (directory / "ca-bundle.pem").write_bytes(roots + b"\n" + ca_pem)
    (directory / "server.pem").write_bytes(leaf.public_bytes(pem) + ca_pem)
    (directory / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server.key")
    return context


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


async def main() -> None:
    port, upstream, directory = int(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
    up_host, up_port = upstream.rsplit(":", 1)
    context = make_certificates(directory)

    async def forward(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(up_host, int(up_port))
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))

    server = await asyncio.start_server(forward, "127.0.0.1", port, ssl=context)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    (directory / "ready").write_text(str(port))
    async with server:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())

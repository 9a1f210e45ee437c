"""A real SMTP server for tests (aiosmtpd on 127.0.0.1): refuses chosen addresses with 550."""

import email
import email.message
import socket
import threading
from collections import Counter

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, server: "MailServer"):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            with self.server.lock:
                self.server.refused[address] += 1
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        message = email.message_from_bytes(envelope.content)
        if self.server.on_accept:  # e.g. kill the sender's database connection right now
            self.server.on_accept(message)
        with self.server.lock:
            for address in envelope.rcpt_tos:
                self.server.delivered.append((address, message))
        return "250 Message accepted for delivery"


class MailServer:
    """`with MailServer(refuse={"reject@example.com"}) as smtp:` then `smtp.email_url`."""

    def __init__(self, refuse: set[str] | frozenset = frozenset(), on_accept=None):
        self.refuse, self.on_accept = set(refuse), on_accept
        self.lock = threading.Lock()
        self.delivered: list[tuple[str, email.message.Message]] = []
        self.refused: Counter = Counter()
        # aiosmtpd checks readiness by connecting to the port it was given: not 0, a free one.
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=_free_port())

    def __enter__(self) -> "MailServer":
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self._controller.stop()

    @property
    def port(self) -> int:
        return self._controller.port

    @property
    def email_url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def mails_to(self, address: str) -> list[email.message.Message]:
        with self.lock:
            return [message for to, message in self.delivered if to == address]

    def settings(self) -> dict:
        """Django settings that send through this server."""
        return {"EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
                "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": self.port, "EMAIL_USE_TLS": False,
                "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "", "EMAIL_TIMEOUT": 5}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]

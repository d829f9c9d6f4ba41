"""An SMTP server for tests (aiosmtpd): each message received is written to DIR/NNNN.json as
{"to": [...], "subject", "headers": {...}, "text", "html"} with its parts decoded.
Usage: python3 smtp_sink.py HOST PORT DIR; prints "ready" once it accepts connections."""
import email
import email.policy
import itertools
import json
import pathlib
import sys
import threading

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        parts = {"text": None, "html": None}
        for part in message.walk():
            kind = part.get_content_type()
            if kind == "text/plain":
                parts["text"] = part.get_content()
            elif kind == "text/html":
                parts["html"] = part.get_content()
        record = {
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "headers": {k: str(v) for k, v in message.items()},
            **parts,
        }
        path = self.out / f"{next(self.count):04}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.rename(path)
        return "250 OK"


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), pathlib.Path(sys.argv[3])
    controller = Controller(Sink(out), hostname=host, port=port)
    controller.start()
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()

"""Verifies webhook deliveries with the Standard Webhooks reference library
(the `standardwebhooks` package from PyPI), an implementation independent
of deskbind's.

Reads JSON from stdin: {"secrets": [...], "deliveries": [{"headers": {...},
"body": "..."}]}. Every delivery must verify with every secret listed (a
rotation's overlap lists both); then each delivery with one byte of its
body changed must be refused. Prints one line per check and exits 1 on the
first failure.
"""

import json
import sys

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


def main() -> int:
    request = json.load(sys.stdin)
    for secret in request["secrets"]:
        hook = Webhook(secret)
        for delivery in request["deliveries"]:
            headers = delivery["headers"]
            body = delivery["body"]
            try:
                payload = hook.verify(body, headers)
            except WebhookVerificationError as e:
                print(f"REFUSED {headers.get('webhook-id')}: {e}")
                return 1
            print(f"verified {headers['webhook-id']} {payload['type']}")
            tampered = body.replace('"', "'", 1) if '"' in body else body + " "
            try:
                hook.verify(tampered, headers)
            except WebhookVerificationError:
                print(f"tampered copy of {headers['webhook-id']} refused")
            else:
                print(f"TAMPERED COPY ACCEPTED {headers['webhook-id']}")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

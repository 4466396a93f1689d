#!/bin/sh
# The integration suite once more over TLS: every daemon's default listener
# carries TLS (client certificates required) and the clients speak it
# (tests/integration/README.md, "Over TLS").
OPENHETS_TEST_TRANSPORT=tls
export OPENHETS_TEST_TRANSPORT
exec "$(cd "$(dirname "$0")" && pwd)/run.sh" "$@"

"""Schemathesis hooks (loaded through SCHEMATHESIS_HOOKS): the body media types of the
SPARQL 1.1 Protocol are text, sent as UTF-8."""

import schemathesis


@schemathesis.serializer("application/sparql-query", "application/sparql-update")
def sparql_text(ctx, value):
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else str(value).encode()

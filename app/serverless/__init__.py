"""Parley on AWS Lambda: API Gateway holds the WebSockets and calls `handlers.websocket` for each connect,
disconnect and frame; an HTTP API calls `handlers.http` for the REST protocol (FastAPI through Mangum). The
store is DynamoDB (`app/store/dynamodb`), the bus the API Gateway management API (`app/bus/apigateway.py`).

What differs from `parley serve`, by necessity: nothing can be posted to a connection before its `$connect`
returns, so a client learns its contacts' presence with the answer to its first frame; an expired token
gets an `error` frame (`unauthorized`) and the connection is ended by the server, as API Gateway cannot send
close code 4401. The send rate is one budget per user across the region's containers when
`PARLEY_RATELIMIT_URL` names the region's rate-limit table (the stack sets it; `app/ratelimit_dynamodb.py`),
and per container without it; the stage's throttling bounds every client on top."""

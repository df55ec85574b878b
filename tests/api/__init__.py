"""In-process tests of the REST API and the WebSocket protocol (protocol.md), driven by TestClient."""

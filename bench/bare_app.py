"""The least a WSGI app can do: what one HTTP hop costs without any service."""


def app(environ, start_response):
    body = b'{"image": {}}'
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]

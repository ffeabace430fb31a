"""The data path v1 and v2 share; it knows no wire format.

    body      the request body, read from gunicorn with few copies
    upload    body -> store, status queued -> saving -> active, and the
              failure policy (v1: killed; v2: back to queued)
    download  store -> response body, byte ranges, bytes-sent accounting
    fetch     background copies from a URL (v1 copy-from)
    sweep     uploads whose process died: their image is failed, bytes removed
"""

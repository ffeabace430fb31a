"""Interoperable image import (spec v2 section 9): the api's background imports.

    request    what ``POST /v2/images/{id}/import`` asks for, checked (pure)
    progress   the reserved os_glance_* properties an import keeps up to date
    staging    the staging area: ``PUT /stage`` and the staged data's place
    sources    where each method's bytes come from (staging, a URL, a store,
               another region's Glance)
    importer   the bounded pool that runs imports, and their failure policy

Imports never run on a request thread: the handler checks the request,
moves the image to ``importing`` (copy-image keeps it ``active``) and hands
the job to the importer of its api worker. Every write goes through the
upload path (glance_api.data.upload), so an import is hashed, inspected,
capped and heartbeated like an upload; an import lost with its process is
returned by the sweep (glance_api.data.sweep).
"""

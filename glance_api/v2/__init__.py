"""The Images API v2, as today's clients speak it (spec images-api-v2.md).

    images      /v2/images[/{id}], deactivate and reactivate
    image_data  /v2/images/{id}/file
    imports     /v2/info/import, /v2/images/{id}/stage and .../import
    members     /v2/images/{id}/members[/{member}]
    tags        /v2/images/{id}/tags/{tag}
    schemas     the JSON schemas clients build their models from
    patch       Glance's JSON-Patch dialect -> registry changes (pure)
    views       registry records -> v2 JSON (pure)
    metadefs    the metadata definitions catalog
"""

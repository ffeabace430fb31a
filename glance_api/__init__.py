"""glance-api: the public Images API, auth, policy and the image data path."""
